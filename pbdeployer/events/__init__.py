"""Task events: numbered, stored in batches for replay, and fanned out to topic subscribers."""

from pbdeployer.events.log import EventLog, task_topics
from pbdeployer.events.publisher import MemoryPublisher, Publisher, Subscription

__all__ = ["EventLog", "MemoryPublisher", "Publisher", "Subscription", "task_topics"]
