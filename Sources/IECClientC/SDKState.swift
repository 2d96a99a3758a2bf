internal import Glibc
internal import IECClient
internal import IECJSON

/// The process-wide state behind the C API: the attributes set so far, the
/// client `iec_initialise` made, and the JSON of `iec_json_parse`. Guarded by a
/// pthread mutex, held only while the state is read or written, never during a
/// request, so that one thread's `iec_user_tokens` does not stall the others.
final class SDKState: @unchecked Sendable {
    private let lock = PThreadMutex()
    /// Serialises `iec_initialise` calls (they wait on the network).
    private let initialiseLock = PThreadMutex()
    private var attributes = IECClientAttributes()
    private var client: IECClient?
    private var parsed: JSONValue?

    func setAttribute(_ attribute: IECClientAttribute, _ text: String) throws(IECClientError) {
        try lock.withLock { () throws(IECClientError) in try attributes.set(attribute, text: text) }
    }

    /// Connects with the current attributes; on success the new client replaces (and closes) the old one.
    func initialise() throws(IECClientError) {
        try initialiseLock.withLock { () throws(IECClientError) in
            let attributes = lock.withLock { self.attributes }
            let fresh = try IECClient.initialiseBlocking(attributes: attributes)
            let old = lock.withLock { () -> IECClient? in
                let old = client
                client = fresh
                return old
            }
            old?.close()
        }
    }

    /// The client, or `not_initialised`.
    func current() throws(IECClientError) -> IECClient {
        guard let client = lock.withLock({ self.client }) else {
            throw IECClientError(.notInitialised, "the SDK is not initialised: call iec_initialise() first (and check that it returned 0)")
        }
        return client
    }

    func setParsed(_ value: JSONValue) { lock.withLock { parsed = value } }

    /// The member `key` of the parsed JSON: a top-level member, else a dotted path.
    func member(_ key: String) throws(IECClientError) -> JSONValue {
        guard let root = lock.withLock({ parsed }) else {
            throw IECClientError(.invalidArgument, "no JSON parsed: call iec_json_parse() first")
        }
        if let value = root[key] { return value }
        var value: JSONValue? = root
        for part in key.split(separator: ".", omittingEmptySubsequences: false) {
            switch value {
            case .object(let members): value = members[String(part)]
            case .array(let elements):
                guard let index = Int(part), elements.indices.contains(index) else { value = nil; break }
                value = elements[index]
            default: value = nil
            }
            if value == nil { break }
        }
        guard let value, key.contains(".") else { throw IECClientError(.invalidArgument, "the parsed JSON has no member \"\(key.prefix(80))\"") }
        return value
    }
}

/// The last error of each thread, as a malloc'd C string kept in thread-specific
/// storage (freed when the thread ends).
final class LastError: @unchecked Sendable {
    private var key = pthread_key_t()

    init() {
        let status = pthread_key_create(&key) { free($0) }
        precondition(status == 0, "pthread_key_create failed: \(status)")
    }

    func set(_ message: String?) {
        let old = pthread_getspecific(key)
        pthread_setspecific(key, message.map { UnsafeMutableRawPointer(strdup($0)!) })
        free(old)
    }

    /// A malloc'd copy for the caller, or nil when there is none.
    func copy() -> UnsafeMutablePointer<CChar>? {
        guard let current = pthread_getspecific(key) else { return nil }
        return strdup(current.assumingMemoryBound(to: CChar.self))
    }
}

let sdk = SDKState()
let lastError = LastError()

/// Runs one C entry point: 0 on success (and no last error), -1 with the error kept.
func entry(_ body: () throws(IECClientError) -> Void) -> Int32 {
    do throws(IECClientError) {
        try body()
        lastError.set(nil)
        return 0
    } catch {
        lastError.set(error.description)
        return -1
    }
}

/// A C string argument, required.
func argument(_ pointer: UnsafeMutablePointer<CChar>?, _ name: String) throws(IECClientError) -> String {
    guard let pointer else { throw IECClientError(.invalidArgument, "\(name) is NULL") }
    return String(cString: pointer)
}

/// A C string argument that may be NULL.
func optionalArgument(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}

/// Runs `body` and hands its text to the caller through `out`, malloc'd; `*out` is NULL on failure.
func output(_ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ body: () throws(IECClientError) -> String) -> Int32 {
    entry { () throws(IECClientError) in
        guard let out else { throw IECClientError(.invalidArgument, "the output pointer is NULL") }
        out.pointee = nil
        let text = try body()
        guard let copy = strdup(text) else { throw IECClientError(.internalError, "out of memory") }
        out.pointee = copy
    }
}
