"""Every stored thing of the project, named once: MongoDB collections, Chroma collections, Redis streams,
consumer groups and key prefixes.

A module that reads or writes one of these imports its name from here; nothing else spells it. The
formats of the streams are in `impressox_pipelines.events`, those of the Redis keys in the module that
owns them (named beside each key below).
"""

# MongoDB collections
TWEETS_COLLECTION = "tweets"  # raw_tweets: one document per tweet, `_id` = rest_id (x.models.Tweet)
RAW_RESPONSES_COLLECTION = "x_raw_responses"  # raw_tweets: every GraphQL response, for re-parsing
X_TARGETS_COLLECTION = "x_targets"  # scrape targets added by backend events (x.targets)
X_CURSORS_COLLECTION = "x_scrape_cursors"  # per target and day resume cursors (x.targets.CursorStore)
OPPORTUNITIES_COLLECTION = "airdrop_opportunities"  # airdrop_opportunities: decisions per tweet group
AIRDROP_NOTICES_COLLECTION = "airdrop_notices"  # which opportunities were announced
PRICE_SNAPSHOTS_COLLECTION = "price_snapshots"  # market.snapshot
PRICE_CANDLES_COLLECTION = "price_candles"  # market.candles
PRICE_ALERTS_COLLECTION = "price_alerts"  # market.alerts: one per fired rule and sequence
KNOWLEDGE_DOCUMENTS_COLLECTION = "knowledge_documents"  # rag.library: parsed documents
PREFERENCES_COLLECTION = "user_preferences"  # notify.preferences
DELIVERIES_COLLECTION = "notification_deliveries"  # notify.delivery: the delivery log
DIGEST_QUEUE_COLLECTION = "digest_queue"  # notify.digest: messages deferred to the digest
DIGEST_RUNS_COLLECTION = "digest_runs"  # notify.digest: digests enqueued
APPLIED_EVENTS_COLLECTION = "backend_events"  # events.apply: the applied-events record

# Chroma collections (vectors)
DOCUMENT_VECTORS_COLLECTION = "impressox_documents"  # document_embeddings: one vector per chunk
TWEET_VECTORS_COLLECTION = "impressox_tweets"  # tweet_embeddings: one vector per tweet

# Redis streams and their consumer groups (formats: impressox_pipelines.events)
NOTIFICATIONS_STREAM = "impressox:notifications"  # the outbox
EVENTS_STREAM = "impressox:events"  # backend events
DEAD_LETTER_STREAM = "impressox:dead_letters"  # entries that could not be handled, with the reason
DELIVERY_GROUP = "impressox-delivery"  # the outbox's one consumer group

# Redis keys
EVENT_BATCHES_KEY = "impressox:events:batches"  # events.batches: requested batches not yet applied
DEAD_LETTER_SEEN_PREFIX = "impressox:dead_letters:seen:"  # events.dead_letters: idempotency markers
RULE_PREFIX = "impressox:rule:"  # market.index: one hash per rule
RULES_PREFIX = "impressox:rules:"  # market.index: the rule index's sets and hashes
LATEST_PRICES_KEY = "impressox:prices:latest"  # market.cache
PRICE_HISTORY_PREFIX = "impressox:prices:history:"  # market.cache
PRICE_REST_PREFIX = "impressox:prices:rest:"  # market.feed_state: a source resting after a 429
EXCHANGE_INFO_KEY = "impressox:prices:binance_exchange_info"  # market.feed_state
ADDED_DOCUMENTS_KEY = "impressox:rag:added_documents"  # rag.library: documents added by events
RAG_DOCSTORE_PREFIX = "impressox:rag"  # rag.docstore: llama-index docstore namespaces
OPERATOR_ALERTS_SENT_KEY = "impressox:ops:alerts_sent"  # operations.alerts
OPERATOR_ALERTS_PENDING_KEY = "impressox:ops:suppressed_failures"  # operations.alerts
