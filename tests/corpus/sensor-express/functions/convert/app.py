"""One CSV row of readings in Fahrenheit, converted to Celsius (CSV values are strings)."""


def handler(event, context):
    fahrenheit = float(event["fahrenheit"])
    return {"sensor": event["sensor"], "celsius": round((fahrenheit - 32) * 5 / 9, 1)}
