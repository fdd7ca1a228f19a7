extension IndexWriter {
    /// What a commit did.
    public struct CommitSummary: Sendable, Equatable {
        /// The generation committed (the previous one when there was nothing to commit).
        public var generation: UInt64
        /// Items added by the commit (an upsert counts here and in ``deleted``).
        public var added: Int
        /// Items deleted by the commit.
        public var deleted: Int
        /// Items in the index after it.
        public var count: Int
        /// Seconds the commit took (with the merge, if any).
        public var seconds: Double
        /// The compaction the ``mergePolicy`` ran after the commit, if any.
        public var merged: CompactionSummary?

        /// A summary with these values (for callers that add up several commits).
        public init(generation: UInt64, added: Int, deleted: Int, count: Int, seconds: Double, merged: CompactionSummary? = nil) {
            self.generation = generation
            self.added = added
            self.deleted = deleted
            self.count = count
            self.seconds = seconds
            self.merged = merged
        }
    }

    /// What a compaction did.
    public struct CompactionSummary: Sendable, Equatable {
        /// The generation committed (the previous one when there was nothing to do).
        public var generation: UInt64
        /// Shards rewritten (0: nothing was worth rewriting).
        public var rewrittenShards: Int
        /// Shards after it.
        public var shards: Int
        /// Bytes of the index's files before.
        public var bytesBefore: Int
        /// Bytes of the index's files after.
        public var bytesAfter: Int
        /// Seconds it took.
        public var seconds: Double
        /// Partitions before and after, when it fitted them again to the live rows
        /// (``IndexWriter/maintainPartitions(partitions:progress:)``); `nil` otherwise.
        public var partitions: (before: Int, after: Int)? {
            get { partitionCounts.map { ($0[0], $0[1]) } }
            set { partitionCounts = newValue.map { [$0.before, $0.after] } }
        }
        private var partitionCounts: [Int]? = nil

        init(generation: UInt64, rewrittenShards: Int, shards: Int, bytesBefore: Int, bytesAfter: Int, seconds: Double) {
            self.generation = generation
            self.rewrittenShards = rewrittenShards
            self.shards = shards
            self.bytesBefore = bytesBefore
            self.bytesAfter = bytesAfter
            self.seconds = seconds
        }
    }
}
