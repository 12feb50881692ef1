"""Plan-time scanning (``auditor scan plan``): the rule catalog judges planned infrastructure changes.

``read`` parses the JSON of ``terraform show -json`` and ``pulumi preview --json``; ``mapping`` loads the plan
mappings (``rules/plan/<format>/*.yaml``) and builds each planned resource's API document; ``collect`` turns a
plan into an :class:`~auditor.model.Inventory` the pipeline evaluates like any other (``roles`` links the
planned role assignments of endpoint identities); ``values`` holds the marks of values the plan does not know.
"""
