"""Echo over @connections (a type parameter default: Python 3.13+ syntax, so a worker runs it)."""

import json

import boto3

type Frame[T = str] = dict[str, T]


def handler(event, context) -> Frame:
    request = event["requestContext"]
    # The API's own URL, as API Gateway's WebSocket samples build it.
    connections = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{request['domainName']}/{request['stage']}",
    )
    text = json.loads(event["body"])["text"]
    connections.post_to_connection(
        ConnectionId=request["connectionId"], Data=json.dumps({"echo": text}).encode()
    )
    try:
        connections.post_to_connection(ConnectionId="left-long-ago", Data=b"{}")
    except connections.exceptions.GoneException as gone:
        answer = {"gone": gone.response["ResponseMetadata"]["HTTPStatusCode"]}
        connections.post_to_connection(
            ConnectionId=request["connectionId"], Data=json.dumps(answer).encode()
        )
    return {"statusCode": 200}
