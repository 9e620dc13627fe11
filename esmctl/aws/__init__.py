"""The AWS boundary: the only module that talks to AWS (through botocore).

One thin client with only the calls esmctl needs, named for what they do and returning plain
values. Not-found becomes None where absence is an answer. Every failure leaves this module as one
of the typed errors below, so no other module reads botocore's error codes. Retries are botocore's
own (standard mode: throttling and 5xx are retried with backoff); esmctl adds only the polling
waits Lambda and Kinesis lack.
"""
