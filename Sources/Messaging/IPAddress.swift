internal import CZMQ

/// IP literals compared the way the whitelist needs them.
enum IPAddress {
    /// `text` written canonically (`inet_ntop`), with IPv4-mapped IPv6
    /// addresses (`::ffff:127.0.0.1`) as plain IPv4; nil when `text` is no IP literal.
    static func normalized(_ text: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        let status = buffer.withUnsafeMutableBufferPointer { iec_normalize_ip(text, $0.baseAddress, $0.count) }
        guard status == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address of the TCP peer on `fileDescriptor`, when it is still connected.
    static func peer(ofFileDescriptor fileDescriptor: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        let status = buffer.withUnsafeMutableBufferPointer { iec_peer_address(fileDescriptor, $0.baseAddress, $0.count) }
        guard status == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
