"""Charge the order's card. No card number, no payment."""

import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


def lambda_handler(event, context):
    card = event.get("card_no")
    if not card:
        raise ValueError(f"order {event['order_id']}: no card_no to charge")
    table.update_item(
        Key={"order_id": event["order_id"]},
        UpdateExpression="SET payment = :p, #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": "CHARGED", ":s": "PAID"},
    )
    return {"charged": event["total"], "card_no": card}
