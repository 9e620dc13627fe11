"""Lambda's event filtering, offline: the rules (rules.py), each source's record envelope (envelopes.py),
the verdict on records (engine.py) and the checks a pattern gets before it ships (checks.py).

Pure: nothing here imports boto3 or touches AWS.
"""
