"""Exchange, queue and routing-key names of the launch bus (DESIGN §7).

Names take an optional prefix so that test runs and parallel stacks on one
broker never share a queue. Production runs with no prefix.
"""

from typing import Final

import msgspec

LAUNCH_REDEEMED_KEY: Final = "launch.redeemed"
DIRECTORY_SNAPSHOT_KEY: Final = "directory.snapshot"
# Not "directory.*": that would also match the snapshot requests above.
DIRECTORY_PARTNER_CHANGED_KEY: Final = "directory.partner_changed"
DIRECT_REPLY_TO: Final = "amq.rabbitmq.reply-to"


class BusNames(msgspec.Struct, frozen=True, kw_only=True):
    exchange: str
    dead_letter_exchange: str
    provisioning_queue: str
    dead_letter_queue: str
    directory_queue: str

    @classmethod
    def with_prefix(cls, prefix: str = "") -> "BusNames":
        return cls(
            exchange=f"{prefix}launch.events",
            dead_letter_exchange=f"{prefix}launch.events.dlx",
            provisioning_queue=f"{prefix}provisioning.launch-redeemed",
            dead_letter_queue=f"{prefix}provisioning.launch-redeemed.dead",
            directory_queue=f"{prefix}provisioning.directory-requests",
        )


# aio-pika waits 5 s between reconnection attempts by default: as long as a
# redemption waits for provisioning (DESIGN §6: 5 s), so every launch in flight
# during a broker blip would time out. Both services retry every second.
RECONNECT_INTERVAL_S: Final = 1.0
