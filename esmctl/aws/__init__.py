"""The AWS boundary: the only package that talks to AWS (through botocore).

One thin client with only the calls esmctl needs, named for what they do and returning plain values
(calls.py: Aws). Not-found becomes None where absence is an answer. Every failure leaves this package as
one of the typed errors of errors.py, so no other module reads botocore's error codes. Retries are
botocore's own (standard mode: throttling and 5xx are retried with backoff); esmctl adds pacing under
Lambda's request quota (pacing.py), the botocore session and its clients (session.py), and the polling
waits Lambda and Kinesis lack (waiting.py).
"""
