"""What sentiment models read: customer text with the noise of web and social channels
taken out.

Tweets, chat and help-desk exports carry things that say nothing about how the customer
feels but still move a lexicon or an embedding: HTML entities (``&amp;``), links, the
``@handle`` a message is addressed to, a retweet prefix, ``#`` in front of a word, and the
U+FFFD characters a file leaves behind when it was read with the wrong encoding.
:func:`model_text` takes them out. It is applied to the model's input only: the text that
is stored and shown is the redacted original.

>>> model_text("RT @VirginAmerica: you're the best!! &amp; #love it http://t.co/x1")
"you're the best!! & love it"
>>> model_text("Order #12345 arrived, e-mail me at ann@example.com")
'Order 12345 arrived, e-mail me at ann@example.com'
"""

from __future__ import annotations

import html
import re

VERSION = "social1"
_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@.])@\w+")
_HASHTAG = re.compile(r"(?<![\w#&])#(\w+)")
_LEADING_ADDRESS = re.compile(r"^(?:RT\s+)?(?:@user\b\s*:?\s*)+")
_NOISE = re.compile(r"&#?\w+;|\ufffd|https?://|www\.|[@#]\w", re.IGNORECASE)


def model_text(text: str) -> str:
    r"""``text`` without entities, links, handles (``@user`` in the middle of a sentence,
    dropped where they only address the message), ``#`` signs and U+FFFD; a text with none
    of them is returned as it is (spacing too).

    >>> model_text("Line one.\n  Line two.")
    'Line one.\n  Line two.'
    """
    if not _NOISE.search(text):
        return text
    cleaned = html.unescape(text).replace("\ufffd", " ")
    cleaned = _LINK.sub(" ", cleaned)
    cleaned = _HANDLE.sub("@user", cleaned)
    cleaned = _HASHTAG.sub(r"\1", cleaned)
    cleaned = _LEADING_ADDRESS.sub("", " ".join(cleaned.split()))
    return cleaned.strip()
