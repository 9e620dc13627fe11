"""The filter engine against the Lambda guide's filtering pages, in memory. Each test names the page it
comes from (docs.aws.amazon.com/lambda/latest/dg/<page>.html) and the example or table row it checks."""

from __future__ import annotations

import base64
import json

import pytest

from esmctl.filters import matching, rules
from esmctl.filters.checks import criteria_problems, pattern_problems
from esmctl.filters.engine import FilterSet, PatternError


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def kinesis(payload, **meta) -> dict:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "1", "sequenceNumber": "4959",
                        "data": b64(data), "approximateArrivalTimestamp": 1545084650.987, **meta},
            "eventSource": "aws:kinesis"}


def sqs(body, **meta) -> dict:
    return {"messageId": "059f36b4", "body": body if isinstance(body, str) else json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "eventSource": "aws:sqs",
            "awsRegion": "us-east-2", **meta}


def ddb(dynamodb: dict, event_name: str = "INSERT") -> dict:
    return {"eventID": "1", "eventName": event_name, "eventVersion": "1.0", "dynamodb": dynamodb}


def kafka(value: str | bytes, **meta) -> dict:
    raw = value if isinstance(value, bytes) else value.encode()
    return {"topic": "mytopic", "partition": 0, "offset": 15, "timestamp": 1545084650987,
            "timestampType": "CREATE_TIME", "value": base64.b64encode(raw).decode(), "headers": [], **meta}


def mq(data: str | bytes) -> dict:
    raw = data if isinstance(data, bytes) else data.encode()
    return {"messageID": "ID:b-9bcfa592", "messageType": "jms/text-message", "deliveryMode": 1,
            "data": base64.b64encode(raw).decode(), "timestamp": 1598827811958, "redelivered": False}


def keeps(pattern, record, kind: str) -> bool:
    return FilterSet([pattern if isinstance(pattern, str) else json.dumps(pattern)], kind).evaluate(record).kept


def matches(pattern: dict, event: dict) -> bool:
    """The rules alone, on a record's filterable JSON (no envelope); the generated fast path must agree."""
    parsed, record = rules.parse_pattern(json.dumps(pattern)), rules.loads(json.dumps(event))
    slow = matching.compile_pattern(parsed)(record) is None
    assert matching.compile_fast(parsed)(record) is slow
    return slow


# --- invocation-eventfiltering, "Filter rule syntax": the table of comparison operators, row by row

def test_null():  # row "Null": "UserID": [ null ]
    assert matches({"UserID": [None]}, {"UserID": None})
    assert not matches({"UserID": [None]}, {"UserID": ""})
    assert not matches({"UserID": [None]}, {})


def test_empty():  # row "Empty": "LastName": [""]
    assert matches({"LastName": [""]}, {"LastName": ""})
    assert not matches({"LastName": [""]}, {"LastName": None})


def test_equals():  # row "Equals": "Name": [ "Alice" ]
    assert matches({"Name": ["Alice"]}, {"Name": "Alice"})
    assert not matches({"Name": ["Alice"]}, {"Name": "alice"})  # the note: no case-folding


def test_equals_ignore_case():  # row "Equals (ignore case)": "Name": [ { "equals-ignore-case": "alice" } ]
    assert matches({"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "ALICE"})
    assert not matches({"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "Alicia"})


def test_and():  # row "And": "Location": [ "New York" ], "Day": ["Monday"]
    pattern = {"Location": ["New York"], "Day": ["Monday"]}
    assert matches(pattern, {"Location": "New York", "Day": "Monday"})
    assert not matches(pattern, {"Location": "New York", "Day": "Tuesday"})


def test_or():  # row "Or": "PaymentType": [ "Credit", "Debit"]
    assert matches({"PaymentType": ["Credit", "Debit"]}, {"PaymentType": "Debit"})
    assert not matches({"PaymentType": ["Credit", "Debit"]}, {"PaymentType": "Cash"})


def test_or_multiple_fields():  # row "Or (multiple fields)": "$or": [ { "Location": [...] }, { "Day": [...] } ]
    pattern = {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}
    assert matches(pattern, {"Location": "Boston", "Day": "Monday"})
    assert matches(pattern, {"Location": "New York", "Day": "Friday"})
    assert not matches(pattern, {"Location": "Boston", "Day": "Friday"})


def test_not():  # row "Not": "Weather": [ { "anything-but": [ "Raining" ] } ]
    assert matches({"Weather": [{"anything-but": ["Raining"]}]}, {"Weather": "Sunny"})
    assert not matches({"Weather": [{"anything-but": ["Raining"]}]}, {"Weather": "Raining"})
    assert not matches({"Weather": [{"anything-but": ["Raining"]}]}, {})  # nothing to be anything but


def test_anything_but_forms():
    # invocation-eventfiltering, "Filter rule syntax": "Lambda supports the Amazon EventBridge rules and uses the
    # same syntax as EventBridge" — whose anything-but also takes a list, a prefix, a suffix, and ignores case
    assert not matches({"Weather": [{"anything-but": ["Raining", "Snowing"]}]}, {"Weather": "Snowing"})
    assert matches({"Weather": [{"anything-but": "Raining"}]}, {"Weather": "Sunny"})
    assert not matches({"Price": [{"anything-but": [100, 200]}]}, {"Price": 100})
    assert matches({"Price": [{"anything-but": [100, 200]}]}, {"Price": 150})
    assert not matches({"Region": [{"anything-but": {"prefix": "us-"}}]}, {"Region": "us-east-1"})
    assert matches({"Region": [{"anything-but": {"prefix": "us-"}}]}, {"Region": "eu-west-1"})
    assert not matches({"File": [{"anything-but": {"suffix": ".tmp"}}]}, {"File": "a.tmp"})
    assert not matches({"Env": [{"anything-but": {"equals-ignore-case": ["PROD", "Stage"]}}]}, {"Env": "prod"})
    assert matches({"Env": [{"anything-but": {"equals-ignore-case": ["PROD", "Stage"]}}]}, {"Env": "dev"})
    assert matches({"Region": [{"prefix": {"equals-ignore-case": "US-"}}]}, {"Region": "us-east-1"})


def test_numeric_equals():  # row "Numeric (equals)": "Price": [ { "numeric": [ "=", 100 ] } ]
    assert matches({"Price": [{"numeric": ["=", 100]}]}, {"Price": 100})
    assert not matches({"Price": [{"numeric": ["=", 100]}]}, {"Price": "100"})  # JSON type: a string is no number


def test_numeric_range():  # row "Numeric (range)": "Price": [ { "numeric": [ ">", 10, "<=", 20 ] } ]
    pattern = {"Price": [{"numeric": [">", 10, "<=", 20]}]}
    assert [matches(pattern, {"Price": p}) for p in (10, 10.5, 20, 20.01)] == [False, True, True, False]


def test_exists():  # row "Exists": "ProductName": [ { "exists": true } ]
    assert matches({"ProductName": [{"exists": True}]}, {"ProductName": "Widget"})
    assert not matches({"ProductName": [{"exists": True}]}, {"Other": 1})


def test_does_not_exist():  # row "Does not exist": "ProductName": [ { "exists": false } ]
    assert matches({"ProductName": [{"exists": False}]}, {"Other": 1})
    assert not matches({"ProductName": [{"exists": False}]}, {"ProductName": "Widget"})


def test_begins_with():  # row "Begins with": "Region": [ {"prefix": "us-" } ]
    assert matches({"Region": [{"prefix": "us-"}]}, {"Region": "us-east-2"})
    assert not matches({"Region": [{"prefix": "us-"}]}, {"Region": "eu-west-1"})


def test_ends_with():  # row "Ends with": "FileName": [ { "suffix": ".png" } ]
    assert matches({"FileName": [{"suffix": ".png"}]}, {"FileName": "cat.png"})
    assert not matches({"FileName": [{"suffix": ".png"}]}, {"FileName": "cat.png.txt"})


def test_numbers_compare_by_their_text():
    # invocation-eventfiltering, the note under the table: "300, 300.0, and 3.0e2 are not considered equal"
    for written, other in (("300", "300.0"), ("300.0", "3.0e2"), ("300", "3.0e2")):
        pattern = rules.parse_pattern('{"n": [' + written + ']}')
        assert matching.compile_pattern(pattern)(rules.loads('{"n": ' + written + '}')) is None
        assert matching.compile_pattern(pattern)(rules.loads('{"n": ' + other + '}')) is not None


def test_values_compare_by_json_type():
    # invocation-eventfiltering: exact matching; true is not 1, "1" is not 1
    assert not matches({"a": [True]}, {"a": 1})
    assert not matches({"a": [1]}, {"a": "1"})
    assert matches({"a": [1]}, {"a": 1})


def test_exists_only_sees_leaf_nodes():
    # invocation-eventfiltering, the note on Exists: {"person": {"address": [{"exists": true}]}} finds no match
    record = {"person": {"name": "John Doe", "age": 30,
                         "address": {"street": "123 Main St", "city": "Anytown", "country": "USA"}}}
    assert not matches({"person": {"address": [{"exists": True}]}}, record)
    assert matches({"person": {"address": {"city": [{"exists": True}]}}}, record)


def test_console_example_or_of_numbers():
    # invocation-eventfiltering, "Attaching filter criteria (console)": { "Metadata" : [ 1, 2 ] } is 1 or 2
    assert [matches({"Metadata": [1, 2]}, {"Metadata": v}) for v in (1, 2, 3, "1")] == [True, True, False, False]


def test_a_key_matches_when_any_element_of_an_array_matches():
    # invocation-eventfiltering: EventBridge's syntax, where a rule on an array matches any of its elements
    assert matches({"tags": ["red"]}, {"tags": ["blue", "red"]})
    assert not matches({"tags": ["red"]}, {"tags": ["blue"]})
    assert matches({"items": {"kind": ["book"]}}, {"items": [{"kind": "music"}, {"kind": "book"}]})


# --- invocation-eventfiltering, "Understanding event filtering basics": multi-level DynamoDB

def test_multi_level_dynamodb_sort_key():
    pattern = {"dynamodb": {"Keys": {"Number": {"N": ["4567"]}}}}
    assert keeps(pattern, ddb({"Keys": {"ID": {"S": "ABCD"}, "Number": {"N": "4567"}}}), "dynamodb")
    assert not keeps(pattern, ddb({"Keys": {"ID": {"S": "ABCD"}, "Number": {"N": "1234"}}}), "dynamodb")


def test_filters_are_ored_and_a_record_matching_none_is_dropped():
    # invocation-eventfiltering: "Your filters are logically ORed together ... If none of your filters are
    # satisfied, Lambda discards the record."
    fs = FilterSet(['{"body": {"a": [1]}}', '{"body": {"b": [2]}}'], "sqs")
    assert fs.evaluate(sqs({"a": 1, "b": 2})).matched == [0, 1]
    assert fs.evaluate(sqs({"b": 2})).matched == [1]
    dropped = fs.evaluate(sqs({"a": 3}))
    assert not dropped.kept and dropped.reason == "#0: body.a is 3; #1: body.b is missing"
    plain = fs.evaluate(sqs("not json"))  # the same reason for both filters: said once
    assert plain.reason == "body is not JSON, but the pattern takes it as JSON: Lambda drops the record"


# --- with-kinesis-filtering

def test_kinesis_order_type_buy():
    # "Kinesis event filtering basics": { "data" : { "order" : { "type" : [ "buy" ] } } }
    pattern = {"data": {"order": {"type": ["buy"]}}}
    assert keeps(pattern, kinesis({"record": 12345, "order": {"type": "buy", "stock": "ANYCO", "quantity": 1000}}),
                 "kinesis")
    assert not keeps(pattern, kinesis({"record": 12346, "order": {"type": "sell"}}), "kinesis")


def test_kinesis_guide_record_decodes_its_base64_data():
    # "Kinesis event filtering basics": the example record, whose data is base64 of a JSON object
    record = {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "1",
                          "data": "eyJSZWNvcmROdW1iZXIiOiAiMDAwMSIsICJUaW1lU3RhbXAiOiAieXl5eS1tbS1kZFRoaDptbTpzcyIsI"
                                  "CJSZXF1ZXN0Q29kZSI6ICJBQUFBIn0="}}
    assert keeps({"data": {"RequestCode": ["AAAA"]}}, record, "kinesis")
    assert not keeps({"data": {"RecordNumber": [1]}}, record, "kinesis")  # "0001" is a string


def test_kinesis_metadata_and_data():
    # invocation-eventfiltering (earlier edition), "Filtering examples": partitionKey "1" and Location
    pattern = {"partitionKey": ["1"], "data": {"Location": ["Los Angeles"]}}
    assert keeps(pattern, kinesis({"Location": "Los Angeles"}), "kinesis")
    assert not keeps(pattern, kinesis({"Location": "Los Angeles"}, partitionKey="2"), "kinesis")


def test_kinesis_temperature_range():
    # invocation-eventfiltering (earlier edition): "Temperature": [ {"numeric": [ ">", 50, "<=", 60 ] } ]
    pattern = {"data": {"Temperature": [{"numeric": [">", 50, "<=", 60]}]}}
    assert [keeps(pattern, kinesis({"Temperature": t}), "kinesis") for t in (50, 55, 60, 61)] == \
        [False, True, True, False]


def test_stream_record_that_is_not_json_is_dropped_by_a_data_pattern():
    # with-kinesis-filtering / with-ddb-filtering table: Non-JSON data, valid JSON pattern -> drops the record
    assert not keeps({"data": {"a": ["x"]}}, kinesis("plain text"), "kinesis")
    # ... Non-JSON data, no pattern for data properties -> filters on the metadata only
    assert keeps({"partitionKey": ["1"]}, kinesis("plain text"), "kinesis")


def test_stream_pattern_that_is_not_json_is_refused():
    # with-kinesis-filtering / with-ddb-filtering table: a non-JSON pattern for data properties -> "Lambda
    # throws an exception at the time of the event source mapping creation or update"
    with pytest.raises(PatternError, match="Lambda refuses a plain-string pattern for data"):
        FilterSet(['{"data": ["plain"]}'], "kinesis")
    with pytest.raises(PatternError):
        FilterSet(['{"dynamodb": [{"prefix": "x"}]}'], "dynamodb")


# --- with-ddb-filtering

DDB_RECORD = {"ApproximateCreationDateTime": "1678831218.0",
              "Keys": {"CustomerName": {"S": "AnyCompany Industries"}},
              "NewImage": {"AccountManager": {"S": "Pat Candella"}, "PaymentTerms": {"S": "60 days"},
                           "CustomerName": {"S": "AnyCompany Industries"}},
              "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "NEW_IMAGE"}


def test_ddb_table_keys():  # "Filtering with table keys"
    pattern = '{ "dynamodb" : { "Keys" : { "CustomerName" : { "S" : [ "AnyCompany Industries" ] } } } }'
    assert keeps(pattern, ddb(DDB_RECORD), "dynamodb")
    other = {**DDB_RECORD, "Keys": {"CustomerName": {"S": "Example Corp"}}}
    assert not keeps(pattern, ddb(other), "dynamodb")


def test_ddb_table_attributes():  # "Filtering with table attributes": "Pat Candella" or "Shirley Rodriguez"
    pattern = ('{ "dynamodb" : { "NewImage" : { "AccountManager" : '
               '{ "S" : [ "Pat Candella", "Shirley Rodriguez" ] } } } }')
    assert keeps(pattern, ddb(DDB_RECORD), "dynamodb")
    shirley = {**DDB_RECORD, "NewImage": {"AccountManager": {"S": "Shirley Rodriguez"}}}
    terry = {**DDB_RECORD, "NewImage": {"AccountManager": {"S": "Terry Whitlock"}}}
    assert keeps(pattern, ddb(shirley), "dynamodb") and not keeps(pattern, ddb(terry), "dynamodb")


def test_ddb_boolean_and_with_the_key_given_twice():
    # "Filtering with Boolean expressions": "dynamodb" appears twice in the pattern, and both must hold
    pattern = ('{ "dynamodb" : { "NewImage" : { "AccountManager" : { "S" : [ "Pat Candella" ] } } } , '
               '"dynamodb" : { "OldImage" : { "AccountManager" : { "S" : [ "Terry Whitlock" ] } } } }')
    both = {**DDB_RECORD, "OldImage": {"AccountManager": {"S": "Terry Whitlock"}}}
    assert keeps(pattern, ddb(both, "MODIFY"), "dynamodb")
    assert not keeps(pattern, ddb({**both, "OldImage": {"AccountManager": {"S": "Someone"}}}, "MODIFY"), "dynamodb")
    assert not keeps(pattern, ddb(DDB_RECORD), "dynamodb")  # no OldImage


def test_ddb_numbers_are_strings():
    # "Filtering with Boolean expressions", note: numeric operators are not supported, numbers are strings
    record = ddb({"Keys": {"Id": {"N": "101"}}})
    assert keeps({"dynamodb": {"Keys": {"Id": {"N": ["101"]}}}}, record, "dynamodb")
    assert not keeps({"dynamodb": {"Keys": {"Id": {"N": [{"numeric": ["=", 101]}]}}}}, record, "dynamodb")
    (problem,) = pattern_problems({"dynamodb": {"Keys": {"Id": {"N": [{"numeric": ["=", 101]}]}}}}, "dynamodb")
    assert not problem.error and "numeric rule never matches" in problem.message


def test_ddb_exists_on_an_intermediate_node():
    # "Using the Exists operator": Organizations is not a leaf; Organizations.L.S is
    image = {"UserID": {"S": "12345"}, "Name": {"S": "John Doe"},
             "Organizations": {"L": [{"S": "Sales"}, {"S": "Marketing"}, {"S": "Support"}]}}
    record = ddb({"NewImage": image})
    wrong = {"dynamodb": {"NewImage": {"Organizations": [{"exists": True}]}}}
    assert not keeps(wrong, record, "dynamodb")
    assert keeps({"dynamodb": {"NewImage": {"Organizations": {"L": {"S": [{"exists": True}]}}}}}, record, "dynamodb")
    assert any("rules match only leaf values" in p.message for p in pattern_problems(wrong, "dynamodb"))


def test_ddb_eventname_with_cdk_example():
    # invocation-eventfiltering links the CDK's FilterRule; its example: eventName INSERT
    assert keeps({"eventName": ["INSERT"]}, ddb(DDB_RECORD), "dynamodb")
    assert not keeps({"eventName": ["INSERT"]}, ddb(DDB_RECORD, "REMOVE"), "dynamodb")


# --- with-sqs-filtering

SQS_BODY = '{\n "RecordNumber": 1234,\n "TimeStamp": "yyyy-mm-ddThh:mm:ss",\n "RequestCode": "AAAA"\n}'


def test_sqs_request_code():  # "Amazon SQS event filtering basics": RequestCode "BBBB"
    pattern = '{ "body" : { "RequestCode" : [ "BBBB" ] } }'
    assert not keeps(pattern, sqs(SQS_BODY), "sqs")
    assert keeps(pattern, sqs(SQS_BODY.replace("AAAA", "BBBB")), "sqs")


def test_sqs_record_number_greater_than():  # "RecordNumber": [ { "numeric": [ ">", 9999 ] } ]
    pattern = '{ "body" : { "RecordNumber" : [ { "numeric": [ ">", 9999 ] } ] } }'
    assert not keeps(pattern, sqs(SQS_BODY), "sqs")
    assert keeps(pattern, sqs(SQS_BODY.replace("1234", "12345")), "sqs")


@pytest.mark.parametrize("body, pattern, kept", [
    # the table under "Amazon SQS event filtering basics", row by row
    ("hello", {"body": ["hello"]}, True),  # plain string, plain string: filters
    ("hello", {"messageId": ["059f36b4"]}, True),  # plain string, no pattern for body: metadata only
    ("hello", {"body": {"a": ["x"]}}, False),  # plain string, valid JSON: drops
    ('{"a": "x"}', {"body": ['{"a": "x"}']}, False),  # valid JSON, plain string: drops
    ('{"a": "x"}', {"messageId": ["059f36b4"]}, True),  # valid JSON, no pattern for body: metadata only
    ('{"a": "x"}', {"body": {"a": ["x"]}}, True),  # valid JSON, valid JSON: filters
])
def test_sqs_body_format_table(body, pattern, kept):
    assert keeps(pattern, sqs(body), "sqs") is kept


def test_sqs_body_is_not_base64():
    # with-sqs-filtering: the record's body is the message as sent
    assert keeps({"body": {"a": [1]}}, sqs('{"a": 1}'), "sqs")
    assert not keeps({"body": {"a": [1]}}, sqs(b64('{"a": 1}')), "sqs")


# --- kafka-filtering

def test_kafka_device_id_prefix():  # "Kafka event filtering basics": device_ID begins with AB
    pattern = '{ "value" : { "device_ID" : [ { "prefix": "AB" } ] } }'
    message = {"device_ID": "AB1234", "session": {"start_time": "yyyy-mm-ddThh:mm:ss", "duration": 162}}
    assert keeps(pattern, kafka(json.dumps(message)), "kafka")
    assert not keeps(pattern, kafka(json.dumps({**message, "device_ID": "CD1234"})), "kafka")


def test_kafka_plain_string_anything_but_error():  # ignore the messages whose string is "error"
    pattern = '{ "value" : [ { "anything-but": [ "error" ] } ] }'
    assert not keeps(pattern, kafka("error"), "kafka")
    assert keeps(pattern, kafka("all good"), "kafka")


def test_kafka_guide_record_value_is_base64():  # the example record: "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg=="
    record = {"topic": "mytopic", "partition": 0, "offset": 15, "value": "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg=="}
    assert keeps({"value": ["Hello, this is a test."]}, record, "kafka")


@pytest.mark.parametrize("value, pattern, kept", [
    # the table at the end of kafka-filtering: a mismatch means "metadata properties only"
    ("hi", {"value": ["hi"]}, True),
    ("hi", {"value": ["bye"]}, False),  # plain string, plain string: filters
    ("hi", {"value": {"a": ["x"]}}, True),  # plain string, valid JSON: metadata only (none here: kept)
    ("hi", {"value": {"a": ["x"]}, "partition": [1]}, False),  # ... and the metadata rule still applies
    ('{"a": "y"}', {"value": ["hi"]}, True),  # valid JSON, plain string: metadata only
    ('{"a": "y"}', {"value": {"a": ["x"]}}, False),  # valid JSON, valid JSON: filters
    (b"\xff\xfe h\x00i\x00", {"value": ["hi"]}, True),  # not UTF-8: metadata only
])
def test_kafka_message_format_table(value, pattern, kept):
    assert keeps(pattern, kafka(value), "kafka") is kept


# --- with-mq-filtering

def test_mq_filters_data_as_json_or_as_a_plain_string():
    # "Amazon MQ event filtering basics": messages either valid JSON or plain strings, base64 in `data`
    assert keeps({"data": {"timeout": [{"numeric": [">", 0]}]}}, mq('{"timeout": 5}'), "mq")
    assert not keeps({"data": {"timeout": [{"numeric": [">", 0]}]}}, mq('{"timeout": 0}'), "mq")
    assert keeps({"data": [{"prefix": "Result: "}]}, mq("Result: ok"), "mq")
    assert not keeps({"data": [{"prefix": "Result: "}]}, mq("Failed"), "mq")


def test_mq_guide_record_plain_string():  # the ActiveMQ record's data "QUJDOkFBQUE=" is "ABC:AAAA"
    record = {"messageID": "ID:b-9bcfa592", "messageType": "jms/text-message", "data": "QUJDOkFBQUE="}
    assert keeps({"data": ["ABC:AAAA"]}, record, "mq")
    assert keeps({"data": {"a": ["x"]}}, record, "mq")  # the format differs: metadata only


# --- rule checks

@pytest.mark.parametrize("pattern, where, words", [
    ({"a": [{"numerc": [">", 1]}]}, "a[0].numerc", "did you mean 'numeric'"),
    ({"a": [{"numeric": [">", "5"]}]}, "a[0].numeric[1]", "needs numbers, not a string"),
    ({"a": [{"numeric": ["gt", 5]}]}, "a[0].numeric[0]", "is not a comparison"),
    ({"a": [{"prefix": 5}]}, "a[0].prefix", "prefix takes a string"),
    ({"a": [{"exists": "yes"}]}, "a[0].exists", "true or false"),
    ({"a": "x"}, "a", "must be a list of rules or an object"),
    ({"a": [{"anything-but": {"prefix": 1}}]}, "a[0].anything-but.prefix", "takes a string"),
    ({"$or": [{"a": ["x"]}]}, "$or", "at least two patterns"),
    ({"a": [{"numeric": [">", 1, ">", 2]}]}, "a[0].numeric", "one lower and one upper bound"),
])
def test_malformed_rules_are_errors_with_their_place(pattern, where, words):
    (problem,) = rules.check(pattern)
    assert problem.error and rules.label(problem.path) == where and words in problem.message


def test_a_pattern_on_the_wrong_payload_key_names_the_right_one():
    (problem,) = pattern_problems({"data": {"a": ["x"]}}, "sqs")
    assert not problem.error and "the SQS payload is `body`" in problem.message
    (problem,) = pattern_problems({"body": {"a": ["x"]}}, "kinesis")
    assert "the Kinesis payload is `data`" in problem.message


def test_values_of_a_type_the_source_never_carries_are_warned():
    (problem,) = pattern_problems({"partition": ["0"]}, "kafka")
    assert not problem.error and "partition is a number" in problem.message
    (problem,) = pattern_problems({"attributes": {"ApproximateReceiveCount": [{"numeric": [">", 1]}]}}, "sqs")
    assert "numeric rule never matches" in problem.message


def test_more_filters_than_the_default_quota_is_a_warning_and_documentdb_is_refused():
    five, six = ({"Filters": [{"Pattern": f'{{"body": {{"a": [{i}]}}}}'} for i in range(n)]} for n in (5, 6))
    assert criteria_problems(five, "sqs") == []
    ((_, problem),) = criteria_problems(six, "sqs")
    assert not problem.error and "default quota of 5" in problem.message
    ((_, problem),) = criteria_problems(five, "docdb")
    assert problem.error and "DocumentDB" in problem.message


# --- properties: a pattern built to match a record matches it; breaking one matched value breaks the match

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_names = st.text("abcdefgh", min_size=1, max_size=6)
_strings = st.text("abcdefghijklmnopqrstuvwxyzABC0123 ", min_size=1, max_size=12)
_leaves = st.one_of(_strings, st.integers(-10**6, 10**6), st.booleans(), st.none())
_records = st.recursive(st.dictionaries(_names, _leaves, min_size=1, max_size=5),
                        lambda inner: st.dictionaries(_names, st.one_of(_leaves, inner), min_size=1, max_size=4),
                        max_leaves=12)


def _leaf_paths(record: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for key, value in record.items():
        if isinstance(value, dict):
            out += _leaf_paths(value, prefix + (key,))
        else:
            out.append(prefix + (key,))
    return out


def _rule_and_breaker(value, choice: int):
    """A rule that matches `value`, and a value it does not match."""
    if isinstance(value, str):
        rules_ = [([value], value + "#"), ([{"prefix": value[:1 + choice % len(value)]}], "#" + value),
                  ([{"suffix": value[-1:]}], value + "#"), ([{"equals-ignore-case": value.swapcase()}], value + "#"),
                  ([{"anything-but": [value + "#"]}], value + "#"), ([{"exists": True}], {})]
    elif isinstance(value, bool):
        rules_ = [([value], not value), ([{"exists": True}], {})]
    elif value is None:
        rules_ = [([None], "null"), ([{"exists": True}], {})]
    else:
        rules_ = [([value], value + 1), ([{"numeric": [">=", value - 1, "<", value + 1]}], value + 10),
                  ([{"numeric": ["=", value]}], value - 3), ([{"anything-but": [value + 1]}], value + 1)]
    return rules_[choice % len(rules_)]


def _put(tree: dict, path: tuple, value) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


@settings(max_examples=300, deadline=None)
@given(_records, st.data())
def test_a_pattern_built_from_a_record_matches_it_and_one_broken_value_breaks_it(record, data):
    paths = _leaf_paths(record)
    chosen = data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=len(paths), unique=True))
    pattern: dict = {}
    breakers = {}
    for path in chosen:
        value = record
        for key in path:
            value = value[key]
        rule, breaker = _rule_and_breaker(value, data.draw(st.integers(0, 11)))
        _put(pattern, path, rule)
        breakers[path] = breaker
    broken_path = data.draw(st.sampled_from(chosen))
    broken = json.loads(json.dumps(record))
    _put(broken, broken_path, breakers[broken_path])
    # the generated fast path and the matchers that say why agree
    assert matching.compile_fast(pattern)(record) and matching.compile_pattern(pattern)(record) is None
    assert not matching.compile_fast(pattern)(broken) and matching.compile_pattern(pattern)(broken) is not None
    for kind, wrap in (("sqs", lambda r: sqs(r)), ("kinesis", lambda r: kinesis(r))):
        payload = "body" if kind == "sqs" else "data"
        fs = FilterSet([json.dumps({payload: pattern})], kind)
        assert fs.evaluate(wrap(record)).kept
        verdict = fs.evaluate(wrap(broken))
        assert not verdict.kept
        assert verdict.reason.startswith(rules.label((payload,) + broken_path))
