"""Create the order: an item in the orders table, status PENDING. No total, no order."""

import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


def lambda_handler(event, context):
    order = {"order_id": event["order_id"], "total": event["total"], "status": "PENDING"}
    table.put_item(Item=order)
    return {"order_id": order["order_id"], "status": order["status"]}
