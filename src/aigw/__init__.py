"""aigw: an AWS-native AI gateway (API Gateway + Step Functions + AI services)."""
