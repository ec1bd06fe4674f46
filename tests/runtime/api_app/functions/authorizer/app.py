"""REQUEST authorizer of the test API: a few fixed keys stand in for the Tenants table."""

# key -> (tenant, Effect, the resources the policy names below arn:…:api-id/stage/)
KEYS = {
    "good-key": ("t1", "Allow", "*"),
    "pending-key": ("t2", "Deny", "*"),
    "reader-key": ("t3", "Allow", "GET/items/*"),
    "keyless-key": ("t4", "Allow", "*"),
}


def handler(event, context):
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    key = headers.get("x-api-key")
    if key == "broken-key":
        raise RuntimeError("the tenants table is unavailable")
    if key not in KEYS:
        raise Exception("Unauthorized")
    tenant, effect, resource = KEYS[key]
    stage_arn = "/".join(event["methodArn"].split("/")[:2])
    answer = {
        "principalId": tenant,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": effect,
                    "Resource": f"{stage_arn}/{resource}",
                }
            ],
        },
        "context": {"tenant_id": tenant, "max_jobs": 5, "active": True},
    }
    if key != "keyless-key":
        answer["usageIdentifierKey"] = f"usage-{tenant}"
    return answer
