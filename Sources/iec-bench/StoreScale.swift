internal import Glibc
internal import IECJSON
internal import Store
internal import StoreSQLite

/// Identity lookups and registrations in SQLite at several store sizes.
struct StoreScale {
    let folder: String
    let sizes: [Int]
    let lookups: Int
    let registrations: Int
    static let realm = "edge"
    static let batch = 10_000
    /// Devices per client app: a realm of gateways → apps → devices.
    static let devicesPerClient = 100

    init(options: [String: String]) throws {
        folder = try required(options, "folder")
        sizes = try (options["sizes"] ?? "1000,1000000").split(separator: ",").map {
            guard let size = Int($0), size >= 10 else { throw BenchUsageError(message: "--sizes: whole numbers of at least 10") }
            return size
        }
        lookups = try integer(options, "lookups", default: 20_000)
        registrations = try integer(options, "registrations", default: 2_000)
    }

    static func device(_ index: Int, apps: Int, now: Double) -> IdentityRecord {
        let client = "gw-0-app-\(min(apps - 1, index / devicesPerClient))"
        let jwk: JSONValue = ["kty": "EC", "crv": "P-256", "kid": .string("k\(index)-\(String(index &* 2_654_435_761, radix: 16))"),
                              "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"]
        return IdentityRecord(realm: realm, id: "dev-\(index)", type: .device, parentID: client, publicKeys: ["keys": [jwk]],
                              registrationTime: now, createdAt: now, updatedAt: now)
    }

    func run() throws -> JSONValue {
        var results: [JSONValue] = []
        for size in sizes {
            results.append(try measure(size: size))
        }
        return ["store": "sqlite", "results": .array(results)]
    }

    private func measure(size: Int) throws -> JSONValue {
        let path = folder + "/identities-\(size).sqlite"
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
        let store = try SQLiteStore(path: path)
        let now = 1_700_000_000.0
        // The tree: one gateway, size/100 apps, then the devices.
        let fill0 = nowNanoseconds()
        let apps = max(1, (size + Self.devicesPerClient - 1) / Self.devicesPerClient)
        var parents = [IdentityRecord(realm: Self.realm, id: "gw-0", type: .iec, registrationTime: now, createdAt: now, updatedAt: now)]
        for app in 0..<apps {
            parents.append(IdentityRecord(realm: Self.realm, id: "gw-0-app-\(app)", type: .client, parentID: "gw-0",
                                          registrationTime: now, createdAt: now, updatedAt: now))
        }
        try store.createIdentities(parents)
        let devices = size - parents.count
        var index = 0
        while index < devices {
            let end = min(devices, index + Self.batch)
            try store.createIdentities((index..<end).map { Self.device($0, apps: apps, now: now) })
            index = end
        }
        let fillSeconds = Double(nowNanoseconds() - fill0) / 1e9

        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func nextRandom() -> Int {
            seed ^= seed << 13
            seed ^= seed >> 7
            seed ^= seed << 17
            return Int(seed % UInt64(devices))
        }
        // Warm up as a server that has been answering for a while: as many lookups as are measured.
        for _ in 0..<lookups { _ = try store.identity(realm: Self.realm, id: "dev-\(nextRandom())") }
        var lookupSamples: [UInt64] = []
        lookupSamples.reserveCapacity(lookups)
        let lookup0 = nowNanoseconds()
        for _ in 0..<lookups {
            let id = "dev-\(nextRandom())"
            let t0 = nowNanoseconds()
            guard try store.identity(realm: Self.realm, id: id) != nil else { throw StoreError(.notFound, "lookup of \(id) found nothing") }
            lookupSamples.append(nowNanoseconds() - t0)
        }
        let lookupSeconds = Double(nowNanoseconds() - lookup0) / 1e9

        var registrationSamples: [UInt64] = []
        registrationSamples.reserveCapacity(registrations)
        let registration0 = nowNanoseconds()
        for extra in 0..<registrations {
            let record = Self.device(devices + extra, apps: apps, now: now)
            let t0 = nowNanoseconds()
            try store.createIdentity(record)
            registrationSamples.append(nowNanoseconds() - t0)
        }
        let registrationSeconds = Double(nowNanoseconds() - registration0) / 1e9
        let counted = try store.countIdentities(realm: Self.realm, filter: IdentityFilter())
        var info = stat()
        stat(path, &info)
        return [
            "identities": .int(Int64(size)), "counted": .int(Int64(counted)),
            "fill_s": .double((fillSeconds * 100).rounded() / 100),
            "file_mb": .double((Double(info.st_size) / 1e5).rounded() / 10),
            "lookups": .int(Int64(lookups)), "lookup_us": percentiles(lookupSamples),
            "lookups_per_s": .double((Double(lookups) / lookupSeconds).rounded()),
            "registrations": .int(Int64(registrations)), "registration_us": percentiles(registrationSamples),
            "registrations_per_s": .double((Double(registrations) / registrationSeconds).rounded()),
        ]
    }
}
