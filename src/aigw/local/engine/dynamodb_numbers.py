"""DynamoDB number arithmetic (UpdateExpression ADD and SET a = a + b) on any number."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from moto.dynamodb.models.dynamo_type import DDBType, DynamoType

from aigw.local.engine.patches import Attr, Fix

_ORIGINAL_ADD: Final = DynamoType.__add__
_ORIGINAL_SUB: Final = DynamoType.__sub__


def _number(text: str) -> str:
    # Fixed-point and without trailing zeros, as DynamoDB returns numbers ("0", "1.5").
    value = Decimal(text).normalize()
    return format(value, "f") if value else "0"


def _add(self: DynamoType, other: DynamoType) -> DynamoType:
    if self.is_number() and other.is_number():
        return DynamoType(
            {DDBType.NUMBER: _number(str(Decimal(self.value) + Decimal(other.value)))}
        )
    return _ORIGINAL_ADD(self, other)


def _sub(self: DynamoType, other: DynamoType) -> DynamoType:
    if self.is_number() and other.is_number():
        return DynamoType(
            {DDBType.NUMBER: _number(str(Decimal(self.value) - Decimal(other.value)))}
        )
    return _ORIGINAL_SUB(self, other)


FIXES: Final[list[Fix]] = [
    Fix(
        name="dynamodb-number-arithmetic",
        why="Counters of money (ADD of decimals that cancel out, 1E-7-sized prices) must "
        "keep adding, as DynamoDB's numbers do.",
        upstream_bug="DynamoType.__add__/__sub__ read a number without a '.' as an int, so "
        "a sum it stored itself as '0E-8' (or a value sent as '1E-7') fails the next ADD "
        "with ValueError.",
        patches=[Attr(DynamoType, "__add__", _add), Attr(DynamoType, "__sub__", _sub)],
    ),
]
