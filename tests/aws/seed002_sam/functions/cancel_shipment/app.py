"""Undo ProcessShipment: the order has no shipment."""

import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


def lambda_handler(event, context):
    table.update_item(
        Key={"order_id": event["order_id"]},
        UpdateExpression="REMOVE shipment SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "SHIPMENT_CANCELLED"},
    )
    return {"cancelled": event["order_id"]}
