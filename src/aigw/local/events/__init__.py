"""Event sources: SNS, DynamoDB streams, EventBridge rules and Step Functions status-change
events delivered to in-process handlers with the shapes AWS sends (`sources`)."""
