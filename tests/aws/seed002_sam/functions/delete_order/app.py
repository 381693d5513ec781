"""Undo CreateOrder: the order's item is deleted."""

import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


def lambda_handler(event, context):
    table.delete_item(Key={"order_id": event["order_id"]})
    return {"deleted": event["order_id"]}
