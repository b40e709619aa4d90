"""The ``print`` query language: a stack machine over booleans (API doc, "Queries").

The stack starts with infinitely many ``true``; each query word pushes a result or rewrites
the stack (``?#``); an item matches when no ``false`` is left. Values compare *typed*: the query
value is normalised the way the property would be (``no`` matches ``false``, ``8.8.8.8`` matches
``8.8.8.8/32`` on a route), because clients such as librouteros send booleans as ``yes``/``no``.
"""

import ipaddress

from . import traps


def matches(query_words, row, normaliser_for=lambda name: None):
    """Whether printed ``row`` (a dict) satisfies the query words, in order.

    ``normaliser_for(name)`` returns a function that turns a query value into the printed form
    of ``name``, or ``None``; a value it cannot normalise is compared as written.
    """
    stack = []
    for word in query_words:
        if word.startswith("?#"):
            stack = _apply_operations(stack, word[2:])
        else:
            stack.append(_test(word, row, normaliser_for))
    return all(stack)


def validate(query_words):
    """Raise a ``Trap`` for a malformed query, before any row is looked at."""
    for word in query_words:
        if not word.startswith("?") or len(word) < 2:
            raise traps.Trap(f"unknown query word {word}", traps.ARGUMENT_VALUE_FAILURE)
        if word.startswith("?#"):
            _apply_operations([], word[2:])


def _test(word, row, normaliser_for):
    """Evaluate one ``?name``, ``?-name``, ``?name=v``, ``?=name=v``, ``?<name=v``, ``?>name=v``."""
    body = word[1:]
    if body.startswith("-"):
        return body[1:] not in row
    operator = "="
    if body[0] in "=<>":
        operator, body = body[0], body[1:]
    name, has_value, value = body.partition("=")
    if not has_value and operator == "=":
        return name in row
    actual = row.get(name, "")
    expected = _normalised(value, normaliser_for(name))
    if operator == "=":
        return actual == expected or actual == value
    return _compare(actual, expected) == (1 if operator == ">" else -1)


def _normalised(value, normalise):
    if normalise is None:
        return _boolean_word(value)
    try:
        return normalise(value)
    except traps.Trap:
        return value


def _boolean_word(value):
    """Booleans of properties the simulator has no type for still compare yes == true."""
    return {"yes": "true", "no": "false"}.get(value, value)


def _compare(left, right):
    """-1, 0 or 1, comparing as numbers, ids, or addresses when both sides are, else as text."""
    left_key, right_key = _sort_key(left), _sort_key(right)
    if type(left_key) is not type(right_key):
        left_key, right_key = left, right
    return (left_key > right_key) - (left_key < right_key)


def _sort_key(text):
    if text.isdigit():
        return int(text)
    if text.startswith("*"):
        try:
            return (int(text[1:], 16),)
        except ValueError:
            return text
    try:
        network = ipaddress.ip_network(text, strict=False)
        return (network.version, int(network.network_address), network.prefixlen)
    except ValueError:
        return text


def _apply_operations(stack, operations):
    """Run the characters of a ``?#`` word over ``stack`` (top is the end of the list)."""
    stack = list(stack)
    position = 0
    while position < len(operations):
        character = operations[position]
        if character.isdigit():
            end = position
            while end < len(operations) and operations[end].isdigit():
                end += 1
            value = _peek(stack, int(operations[position:end]))
            if end == len(operations):
                return [value]               # an index at the end replaces the whole stack
            stack.append(value)
            position = end + 1 if operations[end] == "." else end   # "." after an index: no-op
            continue
        _apply_operator(stack, character)
        position += 1
    return stack


def _apply_operator(stack, character):
    if character == "!":
        stack.append(not _pop(stack))
    elif character == "&":
        right, left = _pop(stack), _pop(stack)
        stack.append(left and right)
    elif character == "|":
        right, left = _pop(stack), _pop(stack)
        stack.append(left or right)
    elif character == ".":
        stack.append(_peek(stack, 0))
    else:
        raise traps.Trap(f"unknown query operation {character}", traps.ARGUMENT_VALUE_FAILURE)


def _peek(stack, index):
    """Entry ``index`` from the top; below the bottom the stack is all ``true``."""
    return stack[-1 - index] if index < len(stack) else True


def _pop(stack):
    return stack.pop() if stack else True
