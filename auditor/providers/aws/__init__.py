"""AWS: SageMaker endpoints, configs and models, and the IAM roles, KMS keys and S3 buckets they use."""
