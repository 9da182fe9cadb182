"""Recognizes requests that are not a person opening a link (DESIGN §6, case C-01).

Prefetchers announce themselves by header; link-preview bots by user agent.
Both get a page with a continue button instead of a redemption. A marker
that also names an app's in-app browser (LINE, Zoom) costs a person one
click on that page; a previewer missed costs the link, so the list errs
wide. A scanner that sends a browser's user agent cannot be told apart.
"""

from collections.abc import Mapping
from typing import Final

PURPOSE_HEADERS: Final = ("sec-purpose", "purpose", "x-purpose", "x-moz")
PURPOSE_VALUES: Final = ("prefetch", "preview", "prerender")
PREVIEW_AGENTS: Final = (
    "slackbot",
    "slack-imgproxy",
    "facebookexternalhit",
    "facebot",
    "twitterbot",
    "whatsapp",
    "telegrambot",
    "discordbot",
    "linkedinbot",
    "skypeuripreview",
    "microsoftpreview",
    "teams",
    "googlebot",
    "bingbot",
    "bingpreview",
    "applebot",
    "embedly",
    "pinterest",
    "redditbot",
    "mattermost",
    "iframely",
    "outlook",
    "google-pagerenderer",
    "mastodon",
    "pleroma",
    "misskey",
    "cardyb",
    "bluesky",
    "viber",
    "line/",
    "zoom",
    "snapchat",
    "vkshare",
    "kakaotalk-scrap",
    "yandex",
    "duckduckbot",
    "petalbot",
)


def is_prefetch(headers: Mapping[str, str]) -> bool:
    """True when the request is a prefetch or a link preview, not a person's click."""
    for name in PURPOSE_HEADERS:
        value = headers.get(name, "").lower()
        if any(marker in value for marker in PURPOSE_VALUES):
            return True
    agent = headers.get("user-agent", "").lower()
    return any(bot in agent for bot in PREVIEW_AGENTS)
