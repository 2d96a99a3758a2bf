public import IECCrypto
internal import Synchronization

/// Where node private keys live. The gateway holds the key of every node it
/// attests for; the default store keeps them encrypted at rest in the gateway's
/// database, and a hardware-backed store (the seed's OP-TEE variant) can take
/// its place behind this protocol.
public protocol NodeKeyStore: Sendable {
    func privateKey(for nodeID: String) throws -> P256.PrivateKey?
    func storeKey(_ key: P256.PrivateKey, for nodeID: String) throws
    func deleteKey(for nodeID: String) throws
}

/// What the gateway remembers of a node it registered.
public struct GatewayNode: Sendable, Hashable {
    public enum NodeType: String, Sendable, Hashable { case iec, client, device }
    public var id: String
    public var type: NodeType
    public var parentID: String?
    public var registered: Bool

    public init(id: String, type: NodeType, parentID: String?, registered: Bool) {
        self.id = id
        self.type = type
        self.parentID = parentID
        self.registered = registered
    }
}

/// The gateway's own records of its nodes.
public protocol GatewayStateStore: Sendable {
    func node(_ id: String) throws -> GatewayNode?
    func putNode(_ node: GatewayNode) throws
}

/// In-memory stores, for tests and tools; nothing survives the process.
public final class MemoryGatewayStore: NodeKeyStore, GatewayStateStore {
    private let keys = Mutex<[String: [UInt8]]>([:])
    private let nodes = Mutex<[String: GatewayNode]>([:])

    public init() {}

    public func privateKey(for nodeID: String) throws -> P256.PrivateKey? {
        try keys.withLock { $0[nodeID] }.map { try P256.PrivateKey(derRepresentation: $0) }
    }
    public func storeKey(_ key: P256.PrivateKey, for nodeID: String) throws { keys.withLock { $0[nodeID] = key.derRepresentation } }
    public func deleteKey(for nodeID: String) throws { _ = keys.withLock { $0.removeValue(forKey: nodeID) } }
    public func node(_ id: String) throws -> GatewayNode? { nodes.withLock { $0[id] } }
    public func putNode(_ node: GatewayNode) throws { nodes.withLock { $0[node.id] = node } }
}
