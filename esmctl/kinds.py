"""The kinds of event source a mapping can read from: names every other module shares."""

KINESIS = "kinesis"
DYNAMODB = "dynamodb"
SQS = "sqs"
MSK = "msk"  # Amazon MSK
KAFKA = "kafka"  # self-managed Apache Kafka
MQ = "mq"
DOCDB = "docdb"
KINDS = (KINESIS, DYNAMODB, SQS, MSK, KAFKA, MQ, DOCDB)
STREAM_TYPES = frozenset({KINESIS, DYNAMODB})
KAFKA_TYPES = frozenset({MSK, KAFKA})
KIND_NAMES = {KINESIS: "Kinesis", DYNAMODB: "DynamoDB", SQS: "SQS", MSK: "Amazon MSK", KAFKA: "self-managed Kafka",
              MQ: "Amazon MQ", DOCDB: "DocumentDB"}
