class OrderRejected(Exception):
    pass


def handler(event, context):
    raise OrderRejected(f"order {event.get('order')} rejected")
