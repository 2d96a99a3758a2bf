import LDAPKit
import Store

// Keyset pages in key byte order (see ``LDAPStore`` on listings).
extension LDAPStore {
    /// One page of the records of `container` matching `conditions` (filter
    /// parts, ANDed) and `accept` (a recheck in Swift on the scanned attributes),
    /// ordered by `iecSortKey`. `limit` is clamped to 1...1000.
    func listPage<T>(
        _ container: Container, conditions: [String], page: PageRequest, scanAttributes: [String] = [],
        accept: (LDAPEntry) -> Bool = { _ in true }, decode: (LDAPEntry) throws -> T
    ) throws -> Page<T> {
        let limit = PageCursor.clampedLimit(page.limit)
        let after = try PageCursor.decode(page.cursor)
        var parts = conditions
        if let after { parts.append("(iecSortKey>=\(Encoding.hex(after)))") }
        let afterHex = after.map { Array(Encoding.hex($0).utf8) }
        return try perform { connection in
            if serverSorts {
                do {
                    if let page = try sortedPage(container, filter: Filter.and(parts), afterHex: afterHex, limit: limit, accept: accept, decode: decode, on: connection) {
                        return page
                    }
                } catch let error as LDAPError where error.kind == .result && Self.sortRefusals.contains(error.code) {
                    // The server would not sort now (too many sorts at once): select in Swift.
                    countSortRefusal()
                }
            }
            var selected: [(sortKey: [UInt8], key: String)] = []
            try connection.search(
                base: self.container(container), scope: .oneLevel, filter: Filter.and(parts),
                attributes: ["iecKey", "iecSortKey"] + scanAttributes, pageSize: Self.scanPageSize
            ) { entry in
                guard let sortKey = entry.attributes["iecsortkey"]?.first, let key = entry.string("iecKey") else { return true }
                if let afterHex, sortKey == afterHex { return true }
                guard accept(entry) else { return true }
                Self.keepSmallest(&selected, (sortKey, key), capacity: limit + 1)
                return true
            }
            let more = selected.count > limit
            if more { selected.removeLast() }
            let entries = try self.fetch(selected.map(\.key), in: container, on: connection)
            let items = try selected.compactMap { entries[$0.key] }.map(decode)
            let cursor = more ? selected.last.flatMap { Encoding.unhex(String(decoding: $0.sortKey, as: UTF8.self)) }.map { PageCursor.encode(lastKey: $0) } : nil
            return Page(items: items, nextCursor: cursor)
        }
    }

    /// adminLimitExceeded, unavailableCriticalExtension, busy, unwillingToPerform.
    static let sortRefusals: Set<Int32> = [11, 12, LDAPResultCode.busy, LDAPResultCode.unwillingToPerform]

    /// A page by one sorted search with a size limit (no paging state is left
    /// on the server); nil when the Swift recheck dropped entries inside the
    /// limit, so that the page may be incomplete: the caller then scans.
    private func sortedPage<T>(
        _ container: Container, filter: String, afterHex: [UInt8]?, limit: Int, accept: (LDAPEntry) -> Bool,
        decode: (LDAPEntry) throws -> T, on connection: LDAPConnection
    ) throws -> Page<T>? {
        // One more than the page, to know whether another follows; one more again for the cursor's own entry.
        let sizeLimit = limit + 1 + (afterHex == nil ? 0 : 1)
        var entries: [LDAPEntry] = []
        var seen = 0
        var dropped = false
        try connection.search(
            base: self.container(container), scope: .oneLevel, filter: filter, attributes: [], sizeLimit: sizeLimit, sortedBy: "iecSortKey"
        ) { entry in
            seen += 1
            guard let sortKey = entry.attributes["iecsortkey"]?.first else { return true }
            if let afterHex, sortKey == afterHex { return true }
            guard accept(entry) else {
                dropped = true
                return true
            }
            if entries.count <= limit { entries.append(entry) }
            return true
        }
        if dropped, seen >= sizeLimit, entries.count <= limit { return nil }
        let more = entries.count > limit
        if more { entries.removeLast() }
        let cursor =
            more
            ? entries.last?.attributes["iecsortkey"]?.first.flatMap { Encoding.unhex(String(decoding: $0, as: UTF8.self)) }
                .map { PageCursor.encode(lastKey: $0) } : nil
        return Page(items: try entries.map(decode), nextCursor: cursor)
    }

    /// How many records of `container` match.
    func countMatches(_ container: Container, conditions: [String], scanAttributes: [String] = [], accept: (LDAPEntry) -> Bool = { _ in true }) throws -> Int {
        try perform { connection in
            var count = 0
            try connection.search(
                base: self.container(container), scope: .oneLevel, filter: Filter.and(conditions),
                attributes: scanAttributes.isEmpty ? ["1.1"] : scanAttributes, pageSize: Self.scanPageSize
            ) { entry in
                if accept(entry) { count += 1 }
                return true
            }
            return count
        }
    }

    /// Every record of `container` matching `conditions`, in no particular order.
    func all(_ container: Container, conditions: [String], attributes: [String] = [], on connection: LDAPConnection) throws -> [LDAPEntry] {
        try connection.searchAll(base: self.container(container), scope: .oneLevel, filter: Filter.and(conditions), attributes: attributes, pageSize: Self.scanPageSize)
    }

    /// The entries with these `iecKey` values, by key; 100 per search.
    func fetch(_ keys: [String], in container: Container, on connection: LDAPConnection) throws -> [String: LDAPEntry] {
        var found: [String: LDAPEntry] = [:]
        var start = 0
        while start < keys.count {
            let chunk = keys[start..<min(start + 100, keys.count)]
            start += chunk.count
            let filter = chunk.count == 1 ? "(iecKey=\(chunk.first!))" : "(|\(chunk.map { "(iecKey=\($0))" }.joined()))"
            try connection.search(base: self.container(container), scope: .oneLevel, filter: filter, attributes: [], pageSize: nil) { entry in
                if let key = entry.string("iecKey") { found[key] = entry }
                return true
            }
        }
        return found
    }

    /// Keeps `list` the `capacity` smallest sort keys seen, ascending.
    static func keepSmallest(_ list: inout [(sortKey: [UInt8], key: String)], _ item: (sortKey: [UInt8], key: String), capacity: Int) {
        if list.count >= capacity, let last = list.last, !item.sortKey.lexicographicallyPrecedes(last.sortKey) { return }
        var low = 0
        var high = list.count
        while low < high {
            let middle = (low + high) / 2
            if list[middle].sortKey.lexicographicallyPrecedes(item.sortKey) { low = middle + 1 } else { high = middle }
        }
        list.insert(item, at: low)
        if list.count > capacity { list.removeLast() }
    }
}
