internal import IECCrypto

func constantTimeEquals(_ a: String, _ b: String) -> Bool { ConstantTime.equals(a, b) }
