"""Ship the order. No address, no shipment."""

import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


def handler(event, context):
    address = event.get("address")
    if not address:
        raise ValueError(f"order {event['order_id']}: no address to ship to")
    table.update_item(
        Key={"order_id": event["order_id"]},
        UpdateExpression="SET shipment = :a, #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":a": address, ":s": "SHIPPED"},
    )
    return {"shipped_to": address}
