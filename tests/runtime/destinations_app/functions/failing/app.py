"""Fails every time, so its asynchronous invocations end at the on-failure destination."""


class AlertRejected(Exception):
    pass


def handler(event, context):
    raise AlertRejected("this alert cannot be handled")
