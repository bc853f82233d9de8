"""Local servers that speak the chat robots' protocols (../shared/spec/channels.md) and SMTP:
the notifier's tests call them as they would call WeCom, DingTalk and Feishu.

Each robot server checks what the real service checks — the key or token in the URL, DingTalk's
URL signature and Feishu's body signature with their timestamp windows (one hour either way),
the message's shape and size — and answers as the service does: HTTP 200 with `errcode`/`code`
0, the throttling codes past its per-minute limit (45009, 130101, 11232) and the bad-key or
bad-signature codes (93000, 310000, 19021). `hang` makes a server accept requests and never
answer (a dead channel); `fail_with` answers the next requests with an HTTP status.
"""
