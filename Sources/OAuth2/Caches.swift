internal import Synchronization

/// A small time-bounded cache. Values the store holds are cached for seconds
/// only, so that several servers sharing one store see each other's changes quickly.
final class ExpiringCache<Value: Sendable>: Sendable {
    private let entries = Mutex<[String: (expires: Double, value: Value)]>([:])
    let lifetime: Double
    let capacity: Int

    init(lifetime: Double, capacity: Int = 1024) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    func value(_ key: String, now: Double, load: () throws -> Value) rethrows -> Value {
        if let hit = entries.withLock({ $0[key] }), hit.expires > now { return hit.value }
        let value = try load()
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = (now + lifetime, value)
        }
        return value
    }

    /// The value stored under `key`, unless it has expired.
    func cached(_ key: String, now: Double) -> Value? {
        guard let hit = entries.withLock({ $0[key] }), hit.expires > now else { return nil }
        return hit.value
    }

    /// Stores `value` under `key` for `lifetime` seconds from `now`.
    func store(_ key: String, _ value: Value, now: Double) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = (now + lifetime, value)
        }
    }

    func invalidate(_ key: String) { _ = entries.withLock { $0.removeValue(forKey: key) } }
    func invalidateAll() { entries.withLock { $0.removeAll() } }
}
