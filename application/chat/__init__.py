"""Chat use cases: sessions, members, messages, read receipts and typing (issue 4).

Every use case commits first and publishes to the real-time transport afterwards: a failed publish
is logged and swallowed (``publishing.SafeRealtime``), the change stays committed and clients find
it by catching up with ``ListMessages(after_seq=...)``.
"""
