internal import Glibc
internal import IECClient
internal import IECJSON
internal import Synchronization

/// N concurrent SDK clients against one iecservice.
struct GatewayLoad {
    enum Operation: String { case register, tokens, ping }

    let attributes: IECClientAttributes
    let operation: Operation
    let clients: Int
    let first: Int
    let count: Int
    let duration: Double
    let prefix: String
    let random: Bool

    init(options: [String: String], random: Bool) throws {
        var attributes = IECClientAttributes(
            endpoint: try required(options, "endpoint"), secretKey: try required(options, "secret-key"),
            publicKey: try required(options, "public-key"), serverPublicKey: try required(options, "server-key"),
            messageTimeoutSeconds: try integer(options, "timeout", default: 60), clientID: try required(options, "client-id"))
        attributes.loggingEnabled = false
        self.attributes = attributes
        guard let operation = Operation(rawValue: try required(options, "op")) else {
            throw BenchUsageError(message: "--op is register, tokens or ping")
        }
        self.operation = operation
        clients = max(1, try integer(options, "clients", default: 1))
        first = try integer(options, "first", default: 0)
        count = try integer(options, "count", default: 1000)
        duration = Double(try integer(options, "duration", default: 10))
        prefix = options["prefix"] ?? "bench-dev"
        self.random = random
    }

    func run() throws -> JSONValue {
        // Every client connects and initialises before the clock starts.
        var connected: [IECClient] = []
        for _ in 0..<clients {
            connected.append(try IECClient.initialiseBlocking(database: nil, attributes: attributes))
        }
        let sink = SampleSink()
        let next = Atomic<Int>(0)
        let completed = Atomic<Int>(0)
        let start = nowNanoseconds()
        let deadline = start + UInt64(duration * 1e9)
        let cpu0 = processCPUSeconds()
        let operation = operation, first = first, count = count, prefix = prefix, random = random
        let threads = connected.map { client in
            BenchThread {
                var samples: [UInt64] = []
                samples.reserveCapacity(1 << 16)
                var seed = UInt64(truncatingIfNeeded: ObjectIdentifier(client).hashValue) | 1
                while nowNanoseconds() < deadline {
                    let index: Int
                    if random || operation == .ping {
                        seed ^= seed << 13
                        seed ^= seed >> 7
                        seed ^= seed << 17
                        index = first + Int(seed % UInt64(max(1, count)))
                    } else {
                        let taken = next.add(1, ordering: .relaxed).oldValue
                        guard taken < count else { break }
                        index = first + taken
                    }
                    let device = "\(prefix)-\(index)"
                    let t0 = nowNanoseconds()
                    do {
                        switch operation {
                        case .register: try client.blocking.registerDevice(device)
                        case .tokens: _ = try client.blocking.deviceTokens(device)
                        case .ping: _ = try client.blocking.deviceConfiguration(device)
                        }
                        samples.append(nowNanoseconds() - t0)
                        completed.add(1, ordering: .relaxed)
                    } catch {
                        sink.fail("\(error)")
                    }
                }
                sink.add(samples)
            }
        }
        threads.forEach { $0.start() }
        threads.forEach { $0.join() }
        let elapsed = Double(nowNanoseconds() - start) / 1e9
        let cpu = processCPUSeconds() - cpu0
        connected.forEach { $0.close() }
        let done = completed.load(ordering: .relaxed)
        let failures = sink.failures
        return [
            "op": .string(operation.rawValue + (random ? "-random" : "")), "clients": .int(Int64(clients)),
            "completed": .int(Int64(done)), "errors": .int(Int64(failures.values.reduce(0, +))),
            "error_reasons": .object(failures.mapValues { .int(Int64($0)) }),
            "elapsed_s": .double((elapsed * 1000).rounded() / 1000),
            "per_s": .double((Double(done) / elapsed).rounded()),
            "latency_us": percentiles(sink.all),
            "driver_cpu_s": .double((cpu * 100).rounded() / 100),
            "range_exhausted": .bool(!random && next.load(ordering: .relaxed) >= count),
        ]
    }
}
