/* auditor report: draws the findings table, the endpoint inventory and the gateway links from #data.
 *
 * Safety: every node is made with createElement and every string from the data goes in through
 * textContent, createTextNode or setAttribute on a fixed attribute name; nothing parses markup (the
 * page's Content-Security-Policy requires Trusted Types for such sinks and allows none, so the browser
 * would refuse it). Attribute names and URLs never come from the data; the page has no links out.
 *
 * Scale: the findings are columns of numbers (see auditor/outputs/html.py page_data); filtering and
 * facet counts are one pass over typed arrays, sorting works on those numbers, and only one page of
 * rows is in the document at a time.
 */
(function () {
  "use strict";

  var DATA = JSON.parse(document.getElementById("data").textContent);
  var S = DATA.strings;
  var F = DATA.findings;
  var R = DATA.resources;
  var RULES = DATA.rules;
  var N = F.id.length;
  // An id that ends with the resource's name is stored as a reference to its prefix.
  R.id = R.id.map(function (id, r) { return typeof id === "number" ? S[id] + R.name[r] : id; });
  var NUL = String.fromCharCode(0);
  var fmt = function (n) { return n.toLocaleString("en-US"); };

  // --- building nodes -------------------------------------------------------------------------------
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      for (var name in attrs) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) continue;
        if (name === "class") el.className = value;
        else if (name === "text") el.textContent = value;
        else if (name.slice(0, 2) === "on") el.addEventListener(name.slice(2), value);
        else el.setAttribute(name, value === true ? "" : String(value));
      }
    }
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, kid) {
    if (kid === null || kid === undefined || kid === false) return;
    if (Array.isArray(kid)) { for (var i = 0; i < kid.length; i++) add(el, kid[i]); return; }
    el.appendChild(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }
  function label(text) { return String(text).split("_").join(" "); }
  function statusBadge(status) {
    return h("span", {class: "badge status-" + status.toLowerCase()}, label(status));
  }
  function sevPill(sev) { return h("span", {class: "pill sev-" + sev}, sev); }
  // An id with a break opportunity after each dot, slash and colon: it wraps at its parts.
  function breakable(text) {
    var out = [], start = 0;
    text = String(text);
    for (var k = 0; k < text.length; k++) {
      var c = text.charAt(k);
      if (c === "." || c === "/" || c === ":") {
        out.push(text.slice(start, k + 1), h("wbr"));
        start = k + 1;
      }
    }
    out.push(text.slice(start));
    return out;
  }
  function resourceLabel(name, id) {
    return [name ? h("span", {class: "res-name"}, name) : null, name ? " " : null, h("code", {class: "res-id", title: id}, id)];
  }

  // --- the findings as columns ------------------------------------------------------------------------
  var status = Uint8Array.from(F.status);
  var severity = Uint8Array.from(F.severity);
  var rule = Int32Array.from(F.rule);
  var res = Int32Array.from(F.resource);
  var baseline = Int8Array.from(F.baseline);
  var gating = Uint8Array.from(F.gating);

  function message(i) {
    var m = F.message[i];
    return m >= 0 ? S[m] : S[-m - 1].split(NUL).join(R.name[res[i]]);
  }

  // A dimension of the resource table (provider, account, type, region) as sorted facet values.
  function resourceDimension(column) {
    var seen = new Map();
    for (var r = 0; r < column.length; r++) if (!seen.has(column[r])) seen.set(column[r], S[column[r]]);
    var refs = Array.from(seen.keys()).sort(function (a, b) { return seen.get(a) < seen.get(b) ? -1 : seen.get(a) > seen.get(b) ? 1 : 0; });
    var position = new Map(refs.map(function (ref, k) { return [ref, k]; }));
    var perResource = Int32Array.from(column, function (ref) { return position.get(ref); });
    var perFinding = new Int32Array(N);
    for (var i = 0; i < N; i++) perFinding[i] = perResource[res[i]];
    return {labels: refs.map(function (ref) { return S[ref]; }), perResource: perResource, col: perFinding};
  }
  var provider = resourceDimension(R.provider);
  var account = resourceDimension(R.account);
  var rtype = resourceDimension(R.type);
  var region = resourceDimension(R.region);
  // Owners (auditor/owners.py): the owner tag's values in order, then "unowned" and "unknown" (tags not read).
  var ownerOrder = DATA.owners.map(function (o, k) { return k; }).sort(function (a, b) {
    var x = DATA.owners[a].toLowerCase(), y = DATA.owners[b].toLowerCase();
    return x < y ? -1 : x > y ? 1 : a - b;
  });
  var ownerPosition = new Int32Array(DATA.owners.length);
  ownerOrder.forEach(function (o, k) { ownerPosition[o] = k; });
  var UNOWNED_AT = DATA.owners.length, UNKNOWN_AT = DATA.owners.length + 1;
  var ownerLabels = ownerOrder.map(function (o) { return DATA.owners[o]; }).concat(["unowned", "unknown"]);
  var owner = Int32Array.from(F.owner, function (o) { return o >= 0 ? ownerPosition[o] : o === -1 ? UNOWNED_AT : UNKNOWN_AT; });
  function ownerName(i) { return ownerLabels[owner[i]]; }
  function ownerTitle(i) {
    if (owner[i] === UNOWNED_AT) return "The resource has no " + (DATA.owner_tag || "owner") + " tag";
    if (owner[i] === UNKNOWN_AT) return "Not known: the resource's tags could not be read";
    return "Tag " + (DATA.owner_tag || "owner") + " of the resource";
  }
  var ruleFrameworks = RULES.map(function (r) {
    return Array.from(new Set(r.frameworks.map(function (ref) { return ref[0]; })));
  });

  var FACETS = [
    {key: "status", label: "Status", labels: DATA.statuses.map(label), col: status},
    {key: "severity", label: "Severity", labels: DATA.severities, col: severity},
    {key: "rule", label: "Rule", labels: RULES.map(function (r) { return r.id; }), col: rule},
    {key: "provider", label: "Provider", labels: provider.labels, col: provider.col},
    {key: "account", label: "Account / subscription", labels: account.labels, col: account.col},
    {key: "type", label: "Resource type", labels: rtype.labels, col: rtype.col},
    {key: "region", label: "Region", labels: region.labels, col: region.col},
    {key: "framework", label: "Framework", labels: DATA.frameworks.map(function (f) { return f[1]; }), multi: true},
    {key: "owner", label: "Owner" + (DATA.owner_tag ? " (tag " + DATA.owner_tag + ")" : ""), labels: ownerLabels, col: owner}
  ];
  if (DATA.baseline_states.length) {
    var baselineCol = Int32Array.from(baseline, function (b) { return b < 0 ? DATA.baseline_states.length : b; });
    FACETS.push({key: "baseline", label: "Baseline", labels: DATA.baseline_states.map(label).concat(["not marked"]),
                 col: baselineCol});
  }
  FACETS.forEach(function (facet) {
    facet.selected = new Uint8Array(facet.labels.length);
    facet.nselected = 0;
    facet.counts = new Int32Array(facet.labels.length);
  });
  var facetByKey = {};
  FACETS.forEach(function (f) { facetByKey[f.key] = f; });

  // --- text search: per-resource and per-rule text, messages lowered once when first searched -----------
  var resourceText = null, ruleText = null, messageText = null;
  function prepareSearch() {
    if (resourceText) return;
    resourceText = R.id.map(function (id, r) {
      return (R.name[r] + "\n" + id + "\n" + S[R.type[r]] + "\n" + S[R.account[r]] + "\n" + S[R.region[r]] + "\n" +
              S[R.provider[r]]).toLowerCase();
    });
    ruleText = RULES.map(function (r) { return (r.id + "\n" + r.title).toLowerCase(); });
    messageText = new Array(N);
    for (var i = 0; i < N; i++) messageText[i] = (message(i) + "\n" + F.id[i] + "\n" + ownerName(i)).toLowerCase();
  }
  function textMatches(i, tokens) {
    for (var t = 0; t < tokens.length; t++) {
      var token = tokens[t];
      if (resourceText[res[i]].indexOf(token) < 0 && ruleText[rule[i]].indexOf(token) < 0 &&
          messageText[i].indexOf(token) < 0) return false;
    }
    return true;
  }

  // --- state ----------------------------------------------------------------------------------------
  var SORTS = {
    status: function (i) { return status[i]; },
    severity: function (i) { return severity[i]; },
    rule: function (i) { return rule[i]; },
    resource: function (i) { return res[i]; },
    type: function (i) { return rtype.col[i]; },
    provider: function (i) { return provider.col[i]; },
    account: function (i) { return account.col[i]; },
    region: function (i) { return region.col[i]; },
    baseline: function (i) { return baseline[i] < 0 ? 127 : baseline[i]; },
    owner: function (i) { return owner[i]; },
    message: null,
    id: null
  };
  var GROUPS = {status: "Status", severity: "Severity", rule: "Rule", provider: "Provider",
                account: "Account / subscription", type: "Resource type", owner: "Owner"};
  var state = {query: "", tokens: [], gatingOnly: false, only: null, sort: "status", dir: 1, group: "", page: 0,
               pageSize: 100, expanded: new Set(), collapsed: new Set()};
  var view = new Int32Array(0);     // matching findings, sorted
  var flat = new Int32Array(0);     // what the pages show: finding i, or -(group + 1) for a group heading
  var groupCounts = new Map();

  function groupOf(i) {
    switch (state.group) {
      case "status": return status[i];
      case "severity": return severity[i];
      case "rule": return rule[i];
      case "provider": return provider.col[i];
      case "account": return account.col[i];
      case "type": return rtype.col[i];
      case "owner": return owner[i];
      default: return 0;
    }
  }
  function groupLabel(g) {
    switch (state.group) {
      case "status": return label(DATA.statuses[g]);
      case "severity": return DATA.severities[g];
      case "rule": return RULES[g].id;
      case "provider": return provider.labels[g];
      case "account": return account.labels[g];
      case "type": return rtype.labels[g];
      case "owner": return ownerLabels[g];
      default: return "";
    }
  }

  // One pass: which findings match, and for each facet the counts under the other facets' filters.
  function applyFilters() {
    var tokens = state.tokens;
    if (tokens.length) prepareSearch();
    var active = FACETS.filter(function (f) { return f.nselected > 0; });
    var fw = facetByKey.framework;
    var ruleInFw = new Uint8Array(RULES.length);
    RULES.forEach(function (r, k) {
      ruleInFw[k] = ruleFrameworks[k].some(function (x) { return fw.selected[x]; }) ? 1 : 0;
    });
    FACETS.forEach(function (f) { f.counts.fill(0); });
    var matched = new Int32Array(N);
    var n = 0;
    for (var i = 0; i < N; i++) {
      if (state.only && !state.only[i]) continue;
      if (state.gatingOnly && !gating[i]) continue;
      if (tokens.length && !textMatches(i, tokens)) continue;
      var failed = null, misses = 0;
      for (var a = 0; a < active.length; a++) {
        var facet = active[a];
        var ok = facet.multi ? ruleInFw[rule[i]] : facet.selected[facet.col[i]];
        if (!ok) { misses++; failed = facet; if (misses > 1) break; }
      }
      if (misses > 1) continue;
      for (var k = 0; k < FACETS.length; k++) {
        var f = FACETS[k];
        if (misses === 1 && f !== failed) continue;
        if (f.multi) {
          var list = ruleFrameworks[rule[i]];
          for (var x = 0; x < list.length; x++) f.counts[list[x]]++;
        } else {
          f.counts[f.col[i]]++;
        }
      }
      if (misses === 0) matched[n++] = i;
    }
    view = matched.slice(0, n);
    sortView();
  }

  function sortView() {
    var key = SORTS[state.sort];
    var dir = state.dir;
    var second = state.sort === "status" ? SORTS.severity : SORTS.status;
    var grouped = !!state.group;
    var items = Array.from(view);
    if (key) {
      var primary = new Int32Array(N), secondary = new Int32Array(N), groups = new Int32Array(N);
      for (var v = 0; v < items.length; v++) {
        var i = items[v];
        primary[i] = key(i); secondary[i] = second(i); groups[i] = grouped ? groupOf(i) : 0;
      }
      items.sort(function (a, b) {
        return (groups[a] - groups[b]) || dir * (primary[a] - primary[b]) || (secondary[a] - secondary[b]) || (a - b);
      });
    } else {
      var text = state.sort === "message" ? message : function (i) { return F.id[i]; };
      var keys = new Map(items.map(function (i) { return [i, text(i)]; }));
      items.sort(function (a, b) {
        var g = grouped ? groupOf(a) - groupOf(b) : 0;
        if (g) return g;
        var x = keys.get(a), y = keys.get(b);
        return (x < y ? -dir : x > y ? dir : 0) || (a - b);
      });
    }
    view = Int32Array.from(items);
    flatten();
  }

  function flatten() {
    groupCounts = new Map();
    if (!state.group) { flat = view; return; }
    var out = [];
    var current = -1;
    for (var v = 0; v < view.length; v++) {
      var i = view[v], g = groupOf(i);
      if (g !== current) { out.push(-(g + 1)); current = g; groupCounts.set(g, {total: 0, fail: 0}); }
      var c = groupCounts.get(g);
      c.total++;
      if (DATA.statuses[status[i]] === "FAIL") c.fail++;
      if (!state.collapsed.has(g)) out.push(i);
    }
    flat = Int32Array.from(out);
  }

  // --- the findings app -----------------------------------------------------------------------------
  var root = document.getElementById("findings-app");
  var hasBaseline = DATA.baseline_states.length > 0;
  var COLUMNS = [
    {key: null, label: ""},
    {key: "status", label: "Status"},
    {key: "severity", label: "Severity"},
    {key: "rule", label: "Rule"},
    {key: "resource", label: "Resource"},
    {key: "type", label: "Resource type"},
    {key: "account", label: "Account / region"},
    {key: "message", label: "Message"}
  ];
  if (hasBaseline) COLUMNS.push({key: "baseline", label: "Baseline"});

  var search = h("input", {type: "search", id: "f-search", class: "search", placeholder: "Search resources, rules, messages, ids",
                           "aria-label": "Search findings", autocomplete: "off"});
  var gatingBox = h("input", {type: "checkbox", id: "f-gating"});
  var groupSelect = h("select", {id: "f-group", "aria-label": "Group by"},
    h("option", {value: ""}, "No grouping"),
    Object.keys(GROUPS).map(function (k) { return h("option", {value: k}, "Group by " + GROUPS[k].toLowerCase()); }));
  var sortSelect = h("select", {id: "f-sort", "aria-label": "Sort by"},
    Object.keys(SORTS).filter(function (k) { return k !== "baseline" || hasBaseline; }).map(function (k) {
      return h("option", {value: k}, "Sort by " + (k === "type" ? "resource type" : k));
    }));
  var dirButton = h("button", {type: "button", id: "f-dir", class: "btn", "aria-label": "Reverse the order"}, "\u2191");
  var clearButton = h("button", {type: "button", id: "f-clear", class: "btn"}, "Clear filters");
  var onlyText = h("span", {class: "only-text"});
  var onlyClear = h("button", {type: "button", id: "f-only-clear", class: "btn"}, "Show all findings");
  var onlyBar = h("p", {class: "only-bar", id: "f-only", hidden: true}, "Only the findings of ", onlyText, " ", onlyClear);
  var facetBar = h("div", {class: "facets", id: "f-facets"});
  var countLine = h("p", {class: "count-line", id: "findings-count", "aria-live": "polite"});
  var headRow = h("tr");
  var tbody = h("tbody", {id: "findings-body"});
  var table = h("table", {class: "grid findings-table", id: "findings-table"}, h("thead", null, headRow), tbody);
  var pager = h("div", {class: "pager", id: "findings-pager"});

  function facetWidget(facet) {
    var summaryNote = h("span", {class: "facet-sel"});
    var list = h("div", {class: "facet-list"});
    var filterInput = facet.labels.length > 12
      ? h("input", {type: "search", class: "facet-filter", placeholder: "Filter values", "aria-label": "Filter " + facet.label})
      : null;
    facet.countNodes = [];
    facet.itemNodes = [];
    facet.labels.forEach(function (text, v) {
      var box = h("input", {type: "checkbox", value: String(v), "data-facet": facet.key});
      var count = h("span", {class: "facet-count"});
      var item = h("label", {class: "facet-item"}, box, " ", h("span", {class: "facet-label"}, text), " ", count);
      facet.countNodes.push(count);
      facet.itemNodes.push(item);
      list.appendChild(item);
    });
    if (filterInput) {
      filterInput.addEventListener("input", function () {
        var q = filterInput.value.toLowerCase();
        facet.labels.forEach(function (text, v) { facet.itemNodes[v].hidden = q !== "" && text.toLowerCase().indexOf(q) < 0; });
      });
    }
    list.addEventListener("change", function (event) {
      var box = event.target;
      var v = Number(box.value);
      facet.selected[v] = box.checked ? 1 : 0;
      facet.nselected += box.checked ? 1 : -1;
      state.page = 0;
      update();
    });
    facet.summaryNote = summaryNote;
    facet.boxes = list;
    return h("details", {class: "facet", "data-facet": facet.key},
      h("summary", null, facet.label, " ", summaryNote), filterInput, list);
  }

  function refreshFacets() {
    FACETS.forEach(function (facet) {
      for (var v = 0; v < facet.labels.length; v++) {
        facet.countNodes[v].textContent = fmt(facet.counts[v]);
        facet.itemNodes[v].classList.toggle("empty", facet.counts[v] === 0 && !facet.selected[v]);
      }
      facet.summaryNote.textContent = facet.nselected ? "(" + facet.nselected + ")" : "";
    });
  }

  function buildHead() {
    clear(headRow);
    COLUMNS.forEach(function (col) {
      if (!col.key) { headRow.appendChild(h("th", {class: "col-toggle"}, h("span", {class: "sr-only"}, "Details"))); return; }
      var sorted = state.sort === col.key;
      var th = h("th", {scope: "col", "aria-sort": sorted ? (state.dir > 0 ? "ascending" : "descending") : "none",
                        class: "col-" + col.key},
        h("button", {type: "button", class: "sort", "data-sort": col.key}, col.label,
          sorted ? h("span", {class: "sort-mark"}, state.dir > 0 ? " \u25b2" : " \u25bc") : null));
      headRow.appendChild(th);
    });
  }

  function findingRow(i) {
    var r = res[i];
    var st = DATA.statuses[status[i]];
    var open = state.expanded.has(i);
    var ruleDoc = RULES[rule[i]];
    var cells = [
      h("td", {class: "col-toggle"}, h("button", {type: "button", class: "toggle", "aria-expanded": open ? "true" : "false",
                                                 "aria-label": "Details of this finding"}, open ? "\u25be" : "\u25b8")),
      // The severity, type and account are also in the status and resource cells, shown there when the
      // page is too narrow for their own columns (report.css hides those columns then).
      h("td", {class: "col-status"}, statusBadge(st), gating[i] ? h("span", {class: "gate-mark", title: "Failed the build"}, "gate") : null,
        h("span", {class: "sev-inline"}, sevPill(DATA.severities[severity[i]]))),
      h("td", {class: "col-severity"}, sevPill(DATA.severities[severity[i]])),
      h("td", {class: "col-rule"}, ruleDoc.title || ruleDoc.id, h("code", {class: "block"}, breakable(ruleDoc.id))),
      h("td", {class: "col-resource"}, resourceLabel(R.name[r], R.id[r]),
        h("span", {class: "res-more muted-text"}, h("code", null, breakable(S[R.type[r]])), " \u00b7 ",
          h("span", {class: "acct", title: S[R.account[r]]}, S[R.account[r]]), " \u00b7 " + S[R.region[r]]),
        h("span", {class: "owner-line block" + (owner[i] >= UNOWNED_AT ? " muted-text" : ""), title: ownerTitle(i)},
          "owner: ", h("span", {class: "owner-name"}, ownerName(i)))),
      h("td", {class: "col-type"}, h("code", null, breakable(S[R.type[r]]))),
      h("td", {class: "col-account"}, h("code", {title: S[R.account[r]]}, S[R.account[r]]),
        h("span", {class: "block muted-text"}, S[R.region[r]])),
      // Long messages are cut after a few lines; the finding's details show the whole message.
      h("td", {class: "col-message"}, h("div", {class: "msg"}, message(i)))
    ];
    if (hasBaseline) {
      var b = baseline[i];
      cells.push(h("td", {class: "col-baseline"}, b < 0 ? "" : h("span", {class: "badge bl-" + DATA.baseline_states[b]}, label(DATA.baseline_states[b]))));
    }
    return h("tr", {class: "frow status-" + st.toLowerCase() + (open ? " open" : ""), "data-i": String(i),
                    id: "finding-" + F.id[i]}, cells);
  }

  function kvTable(pairs) {
    if (!pairs.length) return h("p", {class: "muted-text"}, "No evidence recorded.");
    return h("table", {class: "kv"}, h("tbody", null, pairs.map(function (pair) {
      return h("tr", null, h("th", {scope: "row"}, h("code", null, pair[0])), h("td", null, h("code", null, pair[1])));
    })));
  }

  function detailRow(i) {
    var r = res[i];
    var ruleDoc = RULES[rule[i]];
    var st = DATA.statuses[status[i]];
    var waiver = F.waiver[i] >= 0 ? DATA.waivers[F.waiver[i]] : null;
    var evidence = F.evidence[i] >= 0 ? DATA.evidence[F.evidence[i]] : [];
    var tags = R.tags[r] >= 0 ? DATA.tagsets[R.tags[r]] : [];
    var b = baseline[i];
    var detail = h("div", {class: "detail finding status-" + st.toLowerCase()},
      h("div", {class: "finding-head"},
        statusBadge(st), sevPill(DATA.severities[severity[i]]),
        h("h4", {class: "finding-title"}, ruleDoc.title || ruleDoc.id),
        b >= 0 ? h("span", {class: "badge bl-" + DATA.baseline_states[b]}, label(DATA.baseline_states[b]) + " since the baseline",
          F.previous[i] >= 0 ? " (was " + label(DATA.statuses[F.previous[i]]) + ")" : " (not in the baseline)") : null,
        gating[i] ? h("span", {class: "gate-flag"}, "Failed the build") : null),
      h("p", {class: "rule-line"}, h("code", null, ruleDoc.id), " \u00b7 finding ", h("code", {class: "fid"}, F.id[i])),
      h("p", {class: "message"}, message(i)),
      waiver ? h("div", {class: "waiver-box"}, h("strong", null, "Waived"), waiver[3] !== null ? " (waiver #" + waiver[3] + ")" : null, " until ", h("span", {class: "nowrap"}, waiver[2]),
                 " by ", h("span", {class: "owner"}, waiver[1]), ": ", waiver[0]) : null,
      h("div", {class: "finding-grid"},
        h("section", null,
          h("h5", null, "Evidence"), kvTable(evidence),
          h("h5", null, "Resource"),
          h("table", {class: "kv"}, h("tbody", null,
            [["id", R.id[r]], ["name", R.name[r]], ["type", S[R.type[r]]], ["provider", S[R.provider[r]]],
             ["account", S[R.account[r]]], ["region", S[R.region[r]]], ["owner", ownerName(i)]].map(function (row) {
              return h("tr", null, h("th", {scope: "row"}, row[0]), h("td", null, h("code", null, row[1])));
            }))),
          tags.length ? h("ul", {class: "tags"}, tags.map(function (t) {
            return h("li", null, h("code", null, t[0]), "=", h("code", null, t[1]));
          })) : null),
        h("section", null,
          h("h5", null, "Remediation ",
            ruleDoc.automatic ? h("span", {class: "fix fix-auto"}, "automatic fix available")
                              : h("span", {class: "fix fix-manual"}, "manual fix")),
          ruleDoc.guidance ? h("p", {class: "guidance"}, ruleDoc.guidance) : h("p", {class: "muted-text"}, "No guidance recorded."),
          ruleDoc.automatic ? h("p", {class: "hint"}, "Plan it with ",
            h("code", null, "auditor remediate plan findings.json --rule " + ruleDoc.id), ".") : null,
          h("h5", null, "Framework controls"),
          ruleDoc.frameworks.length ? h("ul", {class: "chips"}, ruleDoc.frameworks.map(function (ref) {
            return h("li", {class: "chip"}, h("span", {class: "chip-fw"}, DATA.frameworks[ref[0]][1]), " ",
                     h("span", {class: "chip-ctl"}, ref[1]), ref[2] ? [" ", h("span", {class: "chip-title"}, ref[2])] : null);
          })) : h("p", {class: "muted-text"}, "Not mapped to a framework control."))),
      (ruleDoc.rationale || ruleDoc.anchors.length || ruleDoc.references.length) ? h("details", {class: "why"},
        h("summary", null, "Why this matters"),
        ruleDoc.rationale ? h("p", {class: "guidance"}, ruleDoc.rationale) : null,
        ruleDoc.anchors.length ? h("p", {class: "refs"}, h("span", {class: "label"}, "Anchors"),
          ruleDoc.anchors.map(function (a) { return [" ", h("code", null, a)]; })) : null,
        ruleDoc.references.length ? [h("p", {class: "label"}, "References"), h("ul", {class: "refs"},
          ruleDoc.references.map(function (ref) { return h("li", null, h("code", {class: "res-id"}, ref)); }))] : null) : null);
    return h("tr", {class: "fdetail", "data-detail": String(i)}, h("td", {colspan: String(span)}, detail));
  }

  function groupRow(g) {
    var c = groupCounts.get(g);
    var collapsed = state.collapsed.has(g);
    return h("tr", {class: "group-row", "data-group": String(g)},
      h("td", {colspan: String(span)},
        h("button", {type: "button", class: "group-toggle", "aria-expanded": collapsed ? "false" : "true"},
          collapsed ? "\u25b8 " : "\u25be ", h("span", {class: "group-label"}, groupLabel(g))),
        h("span", {class: "group-count"}, " " + fmt(c.total) + " finding" + (c.total === 1 ? "" : "s") +
          (c.fail ? ", " + fmt(c.fail) + " failed" : ""))));
  }

  function pages() { return Math.max(1, Math.ceil(flat.length / state.pageSize)); }

  // A row of one cell spans the columns shown: report.css hides some at narrow widths, and a span over
  // hidden columns would add columns of its own and squeeze the message column.
  var span = COLUMNS.length;
  function visibleColumns() {
    var n = 0;
    for (var c = 0; c < headRow.children.length; c++) if (getComputedStyle(headRow.children[c]).display !== "none") n++;
    return n || COLUMNS.length;
  }
  ["(max-width: 1599px)", "(max-width: 1199px)"].forEach(function (query) {
    var list = window.matchMedia(query);
    var redraw = function () { renderRows(); };
    if (list.addEventListener) list.addEventListener("change", redraw); else list.addListener(redraw);
  });

  function renderRows() {
    span = visibleColumns();
    var start = state.page * state.pageSize;
    var end = Math.min(flat.length, start + state.pageSize);
    var fragment = document.createDocumentFragment();
    for (var p = start; p < end; p++) {
      var item = flat[p];
      if (item < 0) { fragment.appendChild(groupRow(-item - 1)); continue; }
      fragment.appendChild(findingRow(item));
      if (state.expanded.has(item)) fragment.appendChild(detailRow(item));
    }
    clear(tbody);
    if (!flat.length) {
      fragment.appendChild(h("tr", {class: "empty-row"}, h("td", {colspan: String(span), class: "muted-text"},
        N ? "No finding matches these filters." : "No findings: no rule had a resource of its type in scope.")));
    }
    tbody.appendChild(fragment);
    var shown = 0;
    for (var q = start; q < end; q++) if (flat[q] >= 0) shown++;
    countLine.textContent = (view.length ? "Showing " + fmt(shown) + " on this page of " : "") + fmt(view.length) +
      " matching finding" + (view.length === 1 ? "" : "s") + " (" + fmt(N) + " in all)";
    renderPager();
  }

  function renderPager() {
    clear(pager);
    var total = pages();
    var go = function (page) { return function () { state.page = page; renderRows(); }; };
    pager.appendChild(h("button", {type: "button", class: "btn", "data-page": "first", disabled: state.page === 0, onclick: go(0)}, "\u00ab First"));
    pager.appendChild(h("button", {type: "button", class: "btn", "data-page": "prev", disabled: state.page === 0,
                                   onclick: go(Math.max(0, state.page - 1))}, "\u2039 Previous"));
    pager.appendChild(h("span", {class: "page-of"}, "Page " + fmt(state.page + 1) + " of " + fmt(total)));
    pager.appendChild(h("button", {type: "button", class: "btn", "data-page": "next", disabled: state.page >= total - 1,
                                   onclick: go(Math.min(total - 1, state.page + 1))}, "Next \u203a"));
    pager.appendChild(h("button", {type: "button", class: "btn", "data-page": "last", disabled: state.page >= total - 1,
                                   onclick: go(total - 1)}, "Last \u00bb"));
    var size = h("select", {"aria-label": "Rows per page", id: "f-pagesize"},
      [50, 100, 250, 500].map(function (n) { return h("option", {value: String(n), selected: n === state.pageSize}, n + " per page"); }));
    size.addEventListener("change", function () { state.pageSize = Number(size.value); state.page = 0; renderRows(); });
    pager.appendChild(size);
  }

  function update() {
    applyFilters();
    refreshFacets();
    state.page = Math.min(state.page, pages() - 1);
    renderRows();
  }

  function resort() {
    buildHead();
    sortSelect.value = state.sort;
    dirButton.textContent = state.dir > 0 ? "\u2191" : "\u2193";
    sortView();
    renderRows();
  }

  function toggleFinding(i) {
    if (state.expanded.has(i)) state.expanded.delete(i); else state.expanded.add(i);
    renderRows();
  }

  // Every filter off: the facets, the search, "gating only" and a set of findings chosen elsewhere.
  function resetFilters() {
    FACETS.forEach(function (f) { f.selected.fill(0); f.nselected = 0; });
    Array.prototype.forEach.call(facetBar.querySelectorAll("input[type=checkbox]"), function (box) { box.checked = false; });
    state.query = ""; state.tokens = []; search.value = "";
    state.gatingOnly = false; gatingBox.checked = false;
    setOnly("", null);
  }

  // Only these findings (positions in the columns), named by `text`: what an inventory line or row counts.
  function setOnly(text, indices) {
    if (!indices) { state.only = null; onlyBar.hidden = true; onlyText.textContent = ""; return; }
    var mask = new Uint8Array(N);
    for (var k = 0; k < indices.length; k++) mask[indices[k]] = 1;
    state.only = mask;
    onlyText.textContent = text;
    onlyBar.hidden = false;
  }

  function showOnly(text, indices) {
    resetFilters();
    setOnly(text, indices);
    state.page = 0;
    update();
    root.scrollIntoView({block: "start"});
  }

  // A count elsewhere on the page (a[data-findings]) names its findings with facet values: data-status,
  // data-severity, data-rule, data-framework, data-baseline (space-separated keys) and data-gating.
  var LINK_KEYS = {
    status: DATA.statuses, severity: DATA.severities, rule: RULES.map(function (r) { return r.id; }),
    framework: DATA.frameworks.map(function (f) { return f[0]; }), baseline: DATA.baseline_states
  };
  function showCounted(link) {
    resetFilters();
    var known = true;
    Object.keys(LINK_KEYS).forEach(function (key) {
      var wanted = link.getAttribute("data-" + key);
      if (!wanted) return;
      var facet = facetByKey[key];
      wanted.split(" ").forEach(function (value) {
        var v = LINK_KEYS[key].indexOf(value);
        if (v < 0 || !facet) { known = false; return; }
        if (!facet.selected[v]) { facet.selected[v] = 1; facet.nselected++; }
        var box = facet.boxes.querySelector("input[value='" + v + "']");
        if (box) box.checked = true;
      });
    });
    if (link.hasAttribute("data-gating")) { state.gatingOnly = true; gatingBox.checked = true; }
    // A value no finding has (the page and its data disagree): show nothing rather than everything.
    if (!known) setOnly("no finding: " + link.getAttribute("data-findings"), []);
    state.page = 0;
    update();
    root.scrollIntoView({block: "start"});
  }

  function reveal(id) {
    var i = F.id.indexOf(id);
    if (i < 0) return false;
    resetFilters();
    state.collapsed.clear();
    applyFilters();
    refreshFacets();
    var at = Array.prototype.indexOf.call(flat, i);
    state.page = Math.floor(at / state.pageSize);
    state.expanded.add(i);
    renderRows();
    var row = document.getElementById("finding-" + id);
    if (row) { row.scrollIntoView({block: "center"}); row.classList.add("flash"); }
    return true;
  }

  var searchTimer = 0;
  search.addEventListener("input", function () {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(function () {
      state.query = search.value;
      state.tokens = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      state.page = 0;
      update();
    }, 120);
  });
  gatingBox.addEventListener("change", function () { state.gatingOnly = gatingBox.checked; state.page = 0; update(); });
  groupSelect.addEventListener("change", function () {
    state.group = groupSelect.value; state.collapsed.clear(); state.page = 0; sortView(); renderRows();
  });
  sortSelect.addEventListener("change", function () { state.sort = sortSelect.value; state.dir = 1; state.page = 0; resort(); });
  dirButton.addEventListener("click", function () { state.dir = -state.dir; state.page = 0; resort(); });
  clearButton.addEventListener("click", function () { resetFilters(); state.page = 0; update(); });
  onlyClear.addEventListener("click", function () { setOnly("", null); state.page = 0; update(); });
  headRow.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-sort]");
    if (!button) return;
    var key = button.getAttribute("data-sort");
    if (state.sort === key) state.dir = -state.dir; else { state.sort = key; state.dir = 1; }
    state.page = 0;
    resort();
  });
  tbody.addEventListener("click", function (event) {
    var group = event.target.closest("tr.group-row");
    if (group) {
      var g = Number(group.getAttribute("data-group"));
      if (state.collapsed.has(g)) state.collapsed.delete(g); else state.collapsed.add(g);
      flatten();
      state.page = Math.min(state.page, pages() - 1);
      renderRows();
      return;
    }
    var row = event.target.closest("tr.frow");
    if (row && !window.getSelection().toString()) toggleFinding(Number(row.getAttribute("data-i")));
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest) return;
    var counted = event.target.closest("[data-findings]");
    if (counted) { event.preventDefault(); showCounted(counted); return; }
    var inPage = event.target.closest("a[href^='#']");
    var target = inPage && document.getElementById(inPage.getAttribute("href").slice(1));
    if (target && target.tagName === "DETAILS") {
      // Detail sections are collapsed: open the one a link leads to on the way there.
      target.open = true;
      return;
    }
    var link = event.target.closest("a[href^='#finding-']");
    if (!link) return;
    if (reveal(link.getAttribute("href").slice("#finding-".length))) event.preventDefault();
  });

  FACETS.forEach(function (facet) { facetBar.appendChild(facetWidget(facet)); });
  add(root, [
    h("div", {class: "toolbar"}, search,
      h("label", {class: "check"}, gatingBox, " Gating only"), groupSelect, sortSelect, dirButton, clearButton),
    facetBar, onlyBar, countLine, h("div", {class: "table-scroll"}, table), pager
  ]);
  buildHead();
  update();
  root.setAttribute("data-state", "ready");
  // For benchmarks/report_html.py: when the first rows are in the document, and when they are painted.
  performance.mark("findings-ready");
  requestAnimationFrame(function () { setTimeout(function () { performance.mark("findings-painted"); }, 0); });

  // --- small paged tables: the endpoint inventory and the gateway links ----------------------------------
  function pagedTable(options) {
    var host = document.getElementById(options.root);
    var rows = options.rows;
    var st = {query: "", kind: "", sort: -1, dir: 1, page: 0, size: 50};
    var body = h("tbody");
    var head = h("tr");
    var count = h("p", {class: "count-line", "aria-live": "polite"});
    var nav = h("div", {class: "pager"});
    var input = h("input", {type: "search", class: "search", placeholder: options.placeholder, "aria-label": options.placeholder});
    var kinds = options.kinds ? h("select", {"aria-label": "Kind"}, h("option", {value: ""}, "Every kind"),
      options.kinds.map(function (k) { return h("option", {value: k[0]}, k[1]); })) : null;
    var texts = rows.map(function (row) { return options.text(row).toLowerCase(); });
    options.columns.forEach(function (col, c) {
      head.appendChild(h("th", {scope: "col", class: col.css || null},
        col.sort ? h("button", {type: "button", class: "sort", "data-col": String(c)}, col.label) : col.label));
    });
    function draw() {
      var q = st.query.toLowerCase().split(/\s+/).filter(Boolean);
      var picked = [];
      rows.forEach(function (row, k) {
        if (st.kind && row.kind !== st.kind) return;
        for (var t = 0; t < q.length; t++) if (texts[k].indexOf(q[t]) < 0) return;
        picked.push(k);
      });
      if (st.sort >= 0) {
        var key = options.columns[st.sort].sort;
        picked.sort(function (a, b) {
          var x = key(rows[a]), y = key(rows[b]);
          return (x < y ? -st.dir : x > y ? st.dir : 0) || (a - b);
        });
      }
      var total = Math.max(1, Math.ceil(picked.length / st.size));
      st.page = Math.min(st.page, total - 1);
      clear(body);
      var fragment = document.createDocumentFragment();
      picked.slice(st.page * st.size, (st.page + 1) * st.size).forEach(function (k) {
        fragment.appendChild(h("tr", {class: "data-row"}, options.columns.map(function (col) {
          return h("td", {class: col.css || null}, col.cell(rows[k]));
        })));
      });
      if (!picked.length) fragment.appendChild(h("tr", null, h("td", {colspan: String(options.columns.length), class: "muted-text"}, rows.length ? "Nothing matches." : options.empty)));
      body.appendChild(fragment);
      count.textContent = fmt(picked.length) + " of " + fmt(rows.length) + " " + options.noun;
      clear(nav);
      if (total > 1) {
        nav.appendChild(h("button", {type: "button", class: "btn", disabled: st.page === 0, onclick: function () { st.page--; draw(); }}, "\u2039 Previous"));
        nav.appendChild(h("span", {class: "page-of"}, "Page " + fmt(st.page + 1) + " of " + fmt(total)));
        nav.appendChild(h("button", {type: "button", class: "btn", disabled: st.page >= total - 1, onclick: function () { st.page++; draw(); }}, "Next \u203a"));
      }
    }
    var timer = 0;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { st.query = input.value; st.page = 0; draw(); }, 120);
    });
    if (kinds) kinds.addEventListener("change", function () { st.kind = kinds.value; st.page = 0; draw(); });
    head.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-col]");
      if (!button) return;
      var c = Number(button.getAttribute("data-col"));
      st.dir = st.sort === c ? -st.dir : 1;
      st.sort = c;
      draw();
    });
    add(host, [h("div", {class: "toolbar"}, input, kinds), count,
               h("div", {class: "table-scroll"}, h("table", {class: "grid compact " + options.css}, h("thead", null, head), body)), nav]);
    draw();
    host.setAttribute("data-state", "ready");
  }

  // The endpoint inventory: each row is the endpoint's whole posture (html_endpoints.py): one line per rule
  // over the endpoint and what serves it, filed under an aspect; a line or the row's count filters the
  // findings table to exactly the findings behind it.
  var INV = DATA.inventory;
  var ASPECT_LABELS = {auth: "Auth mode", identity: "Identity", encryption: "Encryption", capture: "Data capture",
                       network: "Network", other: "Other checks"};
  var UNKNOWN = "UNKNOWN";
  var STATUS_RANK = ["ERROR", "FAIL", UNKNOWN, "MUTED", "PASS", "NOT_APPLICABLE", ""];
  var inventoryRows = INV.rows.map(function (row) {
    var r = row[0], kind = INV.kinds[row[1]];
    var out = {id: R.id[r], name: R.name[r], account: S[R.account[r]], region: S[R.region[r]], kind: kind[0],
               kind_label: kind[1], counts: row[4], unknown: row[5].map(function (t) { return S[t]; }),
               status: row[6] === -2 ? UNKNOWN : row[6] < 0 ? "" : DATA.statuses[row[6]],
               gateways: row[3].map(function (g) { return [S[g[0]], S[g[1]], DATA.statuses[g[2]]]; }),
               aspects: {}, findings: []};
    INV.aspects.forEach(function (aspect) { out.aspects[aspect] = []; });
    var all = new Set();
    row[2].forEach(function (line) {
      out.aspects[INV.aspects[line[0]]].push({rule: line[1] < 0 ? "" : RULES[line[1]].id, text: S[line[2]],
                                               status: line[3] < 0 ? "" : DATA.statuses[line[3]], findings: line[4]});
      line[4].forEach(function (i) { all.add(i); });
    });
    out.findings = Array.from(all).sort(function (a, b) { return a - b; });
    return out;
  });
  function aspectCell(row, aspect) {
    var lines = row.aspects[aspect];
    if (!lines.length) {
      return h("span", {class: "muted-text", title: "No finding of this endpoint or of what serves it evidences this"}, "\u2014");
    }
    return lines.map(function (line) {
      var css = "aspect block" + (line.status ? " st-" + line.status.toLowerCase() : "");
      if (!line.findings.length) {
        return h("span", {class: css, title: "a fact of the platform: every call must be signed"}, line.text);
      }
      var names = line.findings.map(function (i) { return R.name[res[i]] || R.id[res[i]]; });
      var what = line.rule + ": " + label(line.status) + " \u2014 " + names.join(", ");
      return h("button", {type: "button", class: css + " line-link", title: what, "data-rule": line.rule,
                          onclick: function () { showOnly(row.name + ": " + line.text, line.findings); }}, line.text);
    });
  }
  function statusCell(row) {
    var fails = row.counts[failIndex], errors = row.counts[errorIndex];
    var total = row.findings.length;
    var words = [fails ? fmt(fails) + " failed" : null, errors ? fmt(errors) + " errors" : null].filter(Boolean);
    return [
      row.status ? h("span", {class: "badge status-" + row.status.toLowerCase()}, label(row.status)) : null,
      total ? h("button", {type: "button", class: "linkish block row-findings",
                           title: "The findings of this endpoint and of everything that serves it",
                           onclick: function () { showOnly(row.name + " and what serves it", row.findings); }},
                (words.length ? words.join(", ") + " of " : "") + fmt(total) + " finding" + (total === 1 ? "" : "s"))
            : h("span", {class: "block muted-text"}, "no findings"),
      row.unknown.length ? h("ul", {class: "unknown-parts", title: "Parts that serve this endpoint and could not be known"},
        row.unknown.map(function (text) { return h("li", null, "not known: " + text); })) : null
    ];
  }
  var kindSeen = new Map();
  inventoryRows.forEach(function (row) { kindSeen.set(row.kind, row.kind_label); });
  var failIndex = DATA.statuses.indexOf("FAIL");
  var errorIndex = DATA.statuses.indexOf("ERROR");
  pagedTable({
    root: "inventory-app", rows: inventoryRows, css: "inventory-table", noun: "endpoints",
    placeholder: "Search endpoints", empty: "No model endpoint was in scope.",
    kinds: Array.from(kindSeen.entries()).sort(),
    text: function (row) {
      var lines = [];
      INV.aspects.forEach(function (aspect) { row.aspects[aspect].forEach(function (l) { lines.push(l.text); }); });
      return [row.name, row.id, row.kind_label, row.account, row.region, row.status].concat(lines, row.unknown).join("\n");
    },
    columns: [
      {label: "Endpoint", css: "col-endpoint", sort: function (row) { return row.name + "\n" + row.id; },
       cell: function (row) {
         return [resourceLabel(row.name, row.id),
                 h("span", {class: "block muted-text"}, row.kind_label + " \u00b7 ",
                   h("span", {class: "acct", title: row.account}, row.account), " \u00b7 " + row.region)];
       }},
      {label: "Status", css: "col-posture", sort: function (row) { return STATUS_RANK.indexOf(row.status); },
       cell: statusCell}
    ].concat(INV.aspects.map(function (aspect) {
      return {label: ASPECT_LABELS[aspect] || label(aspect), css: "col-aspect col-" + aspect,
              cell: function (row) { return aspectCell(row, aspect); }};
    }), [
      {label: "Gateways", css: "col-gateways", cell: function (row) {
        return row.gateways.length ? row.gateways.map(function (g) {
          return h("span", {class: "block aspect st-" + g[2].toLowerCase()}, g[0] + ": " + g[1]);
        }) : h("span", {class: "muted-text"}, "none");
      }}
    ])
  });
  pagedTable({
    root: "gateways-app", rows: DATA.gateways, css: "gateway-table", noun: "links",
    placeholder: "Search gateway links", empty: "No API Management API was found in front of a model endpoint.",
    text: function (row) { return [row.api_name, row.api_id, row.endpoint_name, row.endpoint_id, row.host, row.via, row.protection].join("\n"); },
    columns: [
      {label: "Gateway API", sort: function (row) { return row.api_name + "\n" + row.api_id; },
       cell: function (row) { return resourceLabel(row.api_name, row.api_id); }},
      {label: "\u2192 Endpoint", sort: function (row) { return row.endpoint_name + "\n" + row.host; },
       cell: function (row) {
         return [row.endpoint_name ? h("span", {class: "res-name"}, row.endpoint_name) : null,
                 h("span", {class: "muted-text"}, " " + row.endpoint_kind),
                 h("code", {class: "block host"}, row.host),
                 row.endpoint_id ? h("code", {class: "block res-id", title: row.endpoint_id}, row.endpoint_id)
                                 : h("span", {class: "block muted-text"}, "not in the inventory")];
       }},
      {label: "Via", sort: function (row) { return row.via; }, cell: function (row) { return h("code", null, row.via); }},
      {label: "Protection", sort: function (row) { return row.protection; },
       cell: function (row) {
         return [h("span", {class: "aspect st-" + row.status.toLowerCase()}, row.protection), " ",
                 h("a", {href: "#finding-" + row.finding, class: "finding-link"}, "finding")];
       }}
    ]
  });

  if (location.hash.indexOf("#finding-") === 0) reveal(location.hash.slice("#finding-".length));
})();
