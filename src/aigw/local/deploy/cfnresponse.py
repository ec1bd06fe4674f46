"""What CloudFormation puts beside a Python function given as inline code (``ZipFile``):
a ``cfnresponse`` module whose :func:`send` answers a custom resource request.

Written here from CloudFormation's documentation of the module ("cfn-response module",
AWS CloudFormation User Guide): ``send(event, context, responseStatus, responseData,
physicalResourceId=None, noEcho=False, reason=None)`` PUTs the response document to the
request's ``ResponseURL``. It uses only the standard library, so it runs on any Python a
function may run on. The deployer copies this file next to the inline code as
``cfnresponse.py``.
"""

import json
import urllib.request

SUCCESS = "SUCCESS"
FAILED = "FAILED"


def send(
    event, context, responseStatus, responseData, physicalResourceId=None, noEcho=False, reason=None
):
    body = {
        "Status": responseStatus,
        "Reason": reason or f"See the details in CloudWatch Log Stream: {context.log_stream_name}",
        "PhysicalResourceId": physicalResourceId or context.log_stream_name,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": noEcho,
        "Data": responseData,
    }
    data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        event["ResponseURL"],
        data=data,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(data))},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            print("Status code:", answer.status)
    except Exception as error:  # as the documented module does: log it, do not raise
        print("send(..) failed executing request:", error)
