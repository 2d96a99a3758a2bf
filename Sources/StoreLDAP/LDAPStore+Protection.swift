import IECJSON
import LDAPKit
public import Store

// Single-use values, counters, the purge, and the audit trail.
//
// Directory writes are durable when they return (back-mdb commits each), so
// unlike SQLite there is no separate, faster class of protection-state writes.
extension LDAPStore {
    /// Adds the value's entry; when one exists but has expired, takes it over by
    /// compare-and-swap on its stored expiry, so of several callers exactly one wins.
    public func consumeOnce(namespace: String, key: String, expiresAt: Timestamp, now: Timestamp) throws -> Bool {
        let dn = dn(.singleUse, "once", namespace, key)
        let text = Encoding.text(expiresAt)
        let attributes = newRecord(
            dn, key: Self.key(of: dn),
            [Encoding.value("iecName", key), Encoding.value("iecData", text), Encoding.value("iecExpiry", Encoding.expiry(expiresAt))])
        return try perform(retry: false) { connection in
            for attempt in 1...Self.maxSwapAttempts {
                if try connection.addIfAbsent(dn, attributes) { return true }
                guard let stored = try connection.read(dn, attributes: ["iecData"])?.string("iecData") else { continue }  // purged meanwhile
                guard now >= (try Encoding.double(stored, "single-use expiry")) else { return false }
                switch try connection.swap(dn, [.delete("iecData", stored), .add("iecData", text), .replace("iecExpiry", Encoding.expiry(expiresAt))]) {
                case .done: return true
                case .lost: return false  // another caller took it over first
                case .gone: backOff(attempt)
                }
            }
            throw StoreError(.unavailable, "consumeOnce: the entry kept changing")
        }
    }

    /// Add with count 1, or compare-and-swap `iecCount` n → n + 1, retried until it wins.
    public func incrementCounter(key: String, windowStart: Timestamp, expiresAt: Timestamp) throws -> Int {
        let dn = dn(.counters, "counter", key, Encoding.text(windowStart))
        let attributes = newRecord(
            dn, key: Self.key(of: dn),
            [
                Encoding.value("iecName", key), Encoding.value("iecCount", "1"), Encoding.value("iecData", Encoding.text(expiresAt)),
                Encoding.value("iecExpiry", Encoding.expiry(expiresAt)),
            ])
        return try perform(retry: false) { connection in
            for attempt in 1...Self.maxSwapAttempts {
                if try connection.addIfAbsent(dn, attributes) { return 1 }
                guard let entry = try connection.read(dn, attributes: ["iecCount", "iecData"]),
                    let count = connection.int64(entry, "iecCount"), let stored = entry.string("iecData")
                else { continue }
                var changes: [LDAPModification] = [.delete("iecCount", "\(count)"), .add("iecCount", "\(count + 1)")]
                if try Encoding.double(stored, "counter expiry") < expiresAt {
                    changes += [.replace("iecData", Encoding.text(expiresAt)), .replace("iecExpiry", Encoding.expiry(expiresAt))]
                }
                if try connection.swap(dn, changes) == .done { return Int(count + 1) }
                backOff(attempt)
            }
            throw StoreError(.unavailable, "incrementCounter: lost \(Self.maxSwapAttempts) compare-and-swaps in a row")
        }
    }

    public func counter(key: String, windowStart: Timestamp) throws -> Int {
        let dn = dn(.counters, "counter", key, Encoding.text(windowStart))
        guard let entry = try perform({ try $0.read(dn, attributes: ["iecCount"]) }) else { return 0 }
        return Int(entry.string("iecCount").flatMap { Int64($0) } ?? 0)
    }

    /// Candidates by `(iecExpiry<=floor(now))`, each checked against its exact expiry.
    @discardableResult
    public func purgeExpired(now: Timestamp) throws -> Int {
        let bound = "(iecExpiry<=\(Encoding.expiry(now)))"
        return try perform { connection in
            var removed = 0
            func purge(_ container: Container, attributes: [String], _ expiry: (LDAPEntry) throws -> Double?) throws -> [LDAPEntry] {
                var gone: [LDAPEntry] = []
                for entry in try all(container, conditions: [Filter.record, bound], attributes: attributes, on: connection) {
                    guard let end = try expiry(entry), now >= end else { continue }
                    if try connection.deleteIfPresent(entry.dn) {
                        removed += 1
                        gone.append(entry)
                    }
                }
                return gone
            }
            func exact(_ entry: LDAPEntry) throws -> Double? { try Encoding.double(entry.string("iecData"), "expiry") }
            func field(_ name: String, _ what: String) -> (LDAPEntry) throws -> Double? {
                { try Fields($0, what: what).double(name) }
            }
            _ = try purge(.singleUse, attributes: ["iecData"], exact)
            _ = try purge(.counters, attributes: ["iecData"], exact)
            _ = try purge(.sessions, attributes: ["iecData"]) { Self.sessionEnd(try Self.session($0)) }
            for code in try purge(.deviceCodes, attributes: ["iecData"], field("expiresAt", "device code")) {
                let data = try Fields(code, what: "device code")
                _ = try connection.deleteIfPresent(dn(.userCodes, "userCode", try data.string("realm"), try data.string("userCode")))
            }
            _ = try purge(.revocations, attributes: ["iecData"], exact)
            _ = try purge(.refreshTokens, attributes: ["iecData"], field("expiresAt", "refresh token"))
            // Claims whose code went some other way (a crash between the two adds).
            for claim in try all(.userCodes, conditions: [Filter.record, bound], attributes: ["iecName"], on: connection) {
                if let hash = claim.string("iecName"), try connection.read(dn(.deviceCodes, "device", hash), attributes: ["1.1"]) == nil {
                    _ = try connection.deleteIfPresent(claim.dn)
                }
            }
            return removed
        }
    }

    // MARK: Audit

    /// The sequence number comes from one counter entry by compare-and-swap, so
    /// it is unique and increasing across every process sharing the directory.
    @discardableResult
    public func appendAudit(_ event: AuditEvent) throws -> AuditEvent {
        var data = Fields(what: "audit event")
        data[string: "realm"] = event.realm
        data.set("time", double: event.time)
        data[string: "actor"] = event.actor
        data[string: "action"] = event.action
        data[string: "target"] = event.target
        data[string: "outcome"] = event.outcome
        try data.set("details", json: event.details, maxBytes: maxJSONBytes)
        let text = try data.text(maxBytes: maxJSONBytes)
        let counterDN = dn(.audit, key: "auditSequence")
        let sequence = try perform(retry: false) { connection -> Int64 in
            for attempt in 1...Self.maxSwapAttempts {
                guard let entry = try connection.read(counterDN, attributes: ["iecCount"]), let current = connection.int64(entry, "iecCount") else {
                    throw StoreError(.internalFailure, "appendAudit: the audit sequence entry is missing under \(options.baseDN)")
                }
                let next = current + 1
                if try connection.swap(counterDN, [.delete("iecCount", "\(current)"), .add("iecCount", "\(next)")]) == .done {
                    let dn = dn(.audit, "audit", "\(next)")
                    try connection.add(
                        dn,
                        newRecord(
                            dn, key: Self.key(of: dn),
                            [Encoding.value("iecRealm", event.realm), Encoding.value("iecSequence", "\(next)"), Encoding.value("iecData", text)]))
                    return next
                }
                backOff(attempt)
            }
            throw StoreError(.unavailable, "appendAudit: lost \(Self.maxSwapAttempts) compare-and-swaps in a row")
        }
        var stored = event
        stored.sequence = sequence
        return stored
    }

    /// `limit` is clamped to 1...1000. Scans the realm's events (before `before`)
    /// for their sequence numbers, keeps the `limit` largest, then reads those.
    public func recentAudit(realm: String, limit: Int, before: Int64?) throws -> [AuditEvent] {
        let limit = PageCursor.clampedLimit(limit)
        var conditions = [Filter.record, Filter.equal("iecRealm", realm), "(iecSequence=*)"]
        if let before { conditions.append("(iecSequence<=\(before &- 1))") }
        return try perform { connection in
            var newest: [(sequence: Int64, key: String)] = []
            try connection.search(
                base: container(.audit), scope: .oneLevel, filter: Filter.and(conditions), attributes: ["iecKey", "iecSequence"],
                pageSize: Self.scanPageSize
            ) { entry in
                guard let sequence = connection.int64(entry, "iecSequence"), let key = entry.string("iecKey") else { return true }
                if let before, sequence >= before { return true }
                if newest.count >= limit, let last = newest.last, sequence <= last.sequence { return true }
                let index = newest.firstIndex { $0.sequence < sequence } ?? newest.count
                newest.insert((sequence, key), at: index)
                if newest.count > limit { newest.removeLast() }
                return true
            }
            let entries = try fetch(newest.map(\.key), in: .audit, on: connection)
            return try newest.compactMap { item -> AuditEvent? in
                guard let entry = entries[item.key] else { return nil }
                let data = try Fields(entry, what: "audit event")
                return AuditEvent(
                    sequence: item.sequence, realm: try data.string("realm"), time: try data.double("time"), actor: try data.string("actor"),
                    action: try data.string("action"), target: try data.string("target"), outcome: try data.string("outcome"),
                    details: try data.json("details"))
            }
        }
    }
}
