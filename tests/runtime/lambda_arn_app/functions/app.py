class PaymentDeclined(Exception):
    pass


def accept(event, context):
    return {"charged": True}


def decline(event, context):
    raise PaymentDeclined("card expired")
