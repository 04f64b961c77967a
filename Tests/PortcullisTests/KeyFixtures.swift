import Crypto
import _CryptoExtras

@testable import Portcullis

/// Key material for the auth tests. The PEM texts below were made once with OpenSSL
/// (`openssl ecparam -genkey`, `openssl genrsa -traditional`, `openssl req -x509`), so the
/// parsers are exercised on real-world files, including the `EC PARAMETERS` block OpenSSL
/// writes before an `EC PRIVATE KEY`. Everything else is generated per run with swift-crypto.
enum KeyFixtures {
    /// P-256 key, SEC 1 (`EC PARAMETERS` + `EC PRIVATE KEY`).
    static let es256PrivateSEC1 = """
-----BEGIN EC PARAMETERS-----
BggqhkjOPQMBBw==
-----END EC PARAMETERS-----
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIIm6w5WMWb3EQNm/hAsyD/CZxO1Bgzpdz5auHMNuE17+oAoGCCqGSM49
AwEHoUQDQgAEjqsgr4oV4Ez6akL1QMzMRZDyTdIEh+d8tjQVT7B2UBaBIhsrShAW
ytZV74EHvGpPGSmpmimRlacyj9DrUSChHw==
-----END EC PRIVATE KEY-----
"""
    /// Self-signed X.509 certificate for `es256PrivateSEC1`.
    static let es256Certificate = """
-----BEGIN CERTIFICATE-----
MIIBljCCATugAwIBAgIUXvtg0+H2La+R61Jd2OMV84mIqV4wCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVcG9ydGN1bGxpcy10ZXN0LWVzMjU2MB4XDTI2MTEyMTA4NDgz
MFoXDTM2MTExODA4NDgzMFowIDEeMBwGA1UEAwwVcG9ydGN1bGxpcy10ZXN0LWVz
MjU2MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEjqsgr4oV4Ez6akL1QMzMRZDy
TdIEh+d8tjQVT7B2UBaBIhsrShAWytZV74EHvGpPGSmpmimRlacyj9DrUSChH6NT
MFEwHQYDVR0OBBYEFCEmdV24pmeCfXaIaa2dn3un+gUaMB8GA1UdIwQYMBaAFCEm
dV24pmeCfXaIaa2dn3un+gUaMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SQAwRgIhAOmqaWXazJ8FUIsvPINvO+tz+dxU+mrpERXyPnB9KxW+AiEA3lFNLikX
ZuqPtmBY2iQrtizAvbPUIJT4Cgf3de8wBnY=
-----END CERTIFICATE-----
"""
    /// P-384 key, SEC 1 without parameters block.
    static let es384PrivateSEC1 = """
-----BEGIN EC PRIVATE KEY-----
MIGkAgEBBDC/M0Dc2AqimRBkbOWiEddgQoPM23vhFh2dKLf8hBLJONj19oYbqyVO
lgaw6ex7iamgBwYFK4EEACKhZANiAAR1U7lR5m9GXCBfLNmS8+lcAyqmfEIL5WC0
rBEZDY9XeNbfn21xP6DC0zENB1JszSg/pKMT0QGzzi9zCaQUwap18v5bN/0/YnOY
PAtjGRMPkqZ6PDYmJuE4sWM1GiAUZ2s=
-----END EC PRIVATE KEY-----
"""
    /// RSA 2048 key, PKCS#1 (`RSA PRIVATE KEY`).
    static let rsaPrivatePKCS1 = """
-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEAoIudil2sfluhurb3lSFtzvvWdS6Y4hYqLhWUUYXeDYBY6YFi
VBGQ8XilLcwq3XQQAnHC5H/aJHlYjW5eXn92X+Y7KsjmBVGpWUR90X7cs0itc+rh
R7wFuBPtm+gtOvL/CiU3I5h6AA5Vrtk+ydU2bnvA9SrpHQjDiXtaheaPRbXoKg5V
HzAa1eHCwmovGfRssSRJzVbGF5ln/ChKs/euLQyBexLt9ktAQaa5SlHslEm0By11
5bcphXe7P37KjIrgIyaknWX4bALz3ZCjuUhZSbuYPQK9EYPKW9G68bSY3Y4ilRDk
gxcvRCb9kzTXKYx7vVrFCYIdN8nig2EH/wZf1wIDAQABAoIBAEvAxRPSUn+G5h+v
kNAl52Xor884LvxTIBEBrqvu4hF1075OhiKL7Vv7JNmgwkMfLiSxIBhoeXqHZXDK
uK2XMDhc7uMny12MJD/SURnmZeYUr3+IP0d1YS9z+8R6f8kWeqADYmqh2kMngGeR
644Z1Ga6bxhf6IICLh2zfkm7OjRWOu+SqwkI9XBxAwUnv6oDJ2ZBWd47Q8O9W+L2
LGloRPNjd3Fk4+ZjJz2xBBry7kua3r4YXt7P8bF2tWA2DCMht/4zSc3+m/Uk1Did
yg0pVJmZIeyaxNM+fmJC1QgFP2lweZVhj4t2uJWK2dfYC0K2fdBSpsCZnc5r2icj
ll/gEd0CgYEA1yHKZjydmoNOMvYW54lYvb4eX/YzpGVMvzhWAe981WaALY2doqbP
zYcbWqxIyfHTNR+ASemc9F2fKGlXlom83G4haEnEESeV7kHYG6YxIu2z318rjpHY
Eihq1CyiJdLsTbLCSWwwnMDktDjwOAL2dFrDX9Sfd5q/wPhm7tBfcPsCgYEAvwsw
4ijJTypq9+tlezdkbvcwcoNz9n7AnGTqkO0jYJyn0FeRtBsKqj/r1iA+YWsdmj64
QLu56HO4HWxfBay8BBjMfqweKfo5LdAwmOe4erhBOn9eccxycIgha/jUvwYt5B4d
JHZrfL4EHbHBkGE4dPG6EbY1e3ixCHrU9w7/7dUCgYEAnNzMoeNM358iY9JAPS9O
f3ui1kHEwfgDD+LaA6tGEKwehhieejy7hJchAOpiYK1tXWzMtBgdE6k4JdU5wlBI
X0oGHe67ge6lSgbEttRlO5yq7RKNxfTd4c+KpY6t5Hp5RuYy+Cpk/8c+e5KQxaaT
YZ/UmYmFhUZWzzPQig1xqgUCgYAsnuWE/Te/qM2hKDbkp5RqoouLQ46zNPmxzZRH
00tfBlffvoRGh8Ze610e/xryz/zzCNEqNW5/j3+iR6yN+8FSR6SDtZm5/jqaq7Se
EgkxiJWbnyIk/DaCeBkuSckO8NeJH0t5N7t1QEBf2yO1oC96iPcHqgIl25OlwmK5
baRzHQKBgQDQaFlB1gjW/amRh4VmAPVT3X7wdG3f6PU0NmBmrEuqjTUcppO0orVc
AK4KxZ1Mg7xqg2YxwWpb94Bf4J1Xdp6/smNBkcMjJXx2sZybPCsVrLhT4BQs+w4M
LsRkQ0qH4QUwwGlhBsBS/ued5cq3kyw5sXPZCC2S+9v87d195Hd16A==
-----END RSA PRIVATE KEY-----
"""
    /// Self-signed X.509 certificate for `rsaPrivatePKCS1`.
    static let rsaCertificate = """
-----BEGIN CERTIFICATE-----
MIIDITCCAgmgAwIBAgIUE6ahhtLTYxeheYRU7T5v7ZD58oEwDQYJKoZIhvcNAQEL
BQAwIDEeMBwGA1UEAwwVcG9ydGN1bGxpcy10ZXN0LXJzMjU2MB4XDTI2MTEyMTA4
NDgzMFoXDTM2MTExODA4NDgzMFowIDEeMBwGA1UEAwwVcG9ydGN1bGxpcy10ZXN0
LXJzMjU2MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAoIudil2sfluh
urb3lSFtzvvWdS6Y4hYqLhWUUYXeDYBY6YFiVBGQ8XilLcwq3XQQAnHC5H/aJHlY
jW5eXn92X+Y7KsjmBVGpWUR90X7cs0itc+rhR7wFuBPtm+gtOvL/CiU3I5h6AA5V
rtk+ydU2bnvA9SrpHQjDiXtaheaPRbXoKg5VHzAa1eHCwmovGfRssSRJzVbGF5ln
/ChKs/euLQyBexLt9ktAQaa5SlHslEm0By115bcphXe7P37KjIrgIyaknWX4bALz
3ZCjuUhZSbuYPQK9EYPKW9G68bSY3Y4ilRDkgxcvRCb9kzTXKYx7vVrFCYIdN8ni
g2EH/wZf1wIDAQABo1MwUTAdBgNVHQ4EFgQUal1QWDqGPgEtm2Bqo9m/m6rC6a4w
HwYDVR0jBBgwFoAUal1QWDqGPgEtm2Bqo9m/m6rC6a4wDwYDVR0TAQH/BAUwAwEB
/zANBgkqhkiG9w0BAQsFAAOCAQEAHu+Mphh8td6Ev3oRvBba71UcBfEDON/mCm6V
VJAz81jUUUbDcx7qlNiRjSkoavIM/AfEb72GWmv+6/wObZav/EUqOC+/GtcEOYud
RmSBsT82AXWKOt9pcD6LGlNUiJYivcb5q/8KwBTw9YRFPKm3bJA9RrCuKw4vHX7g
3b4oSjRgTjcg9dXggkdSMuO9JDI0PoOAiUSRc0btT31oPsjV4yWF1dNTbDXDAvv/
t2rkIeEG5SSrufYwYR98KyUbHsFA07H6PmVM9BpX+4z6xaNi5KE2fHu08kjZs586
See5RjAl+5E2RjjB62nSla2Ax3CbznmI4jmuB7laRRjS8DhZww==
-----END CERTIFICATE-----
"""
    /// A 1024-bit RSA public key: too weak, must be refused.
    static let rsa1024Public = """
-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDaKMWYWjkHH1HBEFY9wg0A42Ut
a3hmr1mPNnkFzT/bomvURwQeVeLR3nVhCGcp7GExhgUWCi4k18wVXizJEJyEDKCp
m5dySwDx32pFo9X0zUCGJVKtkzvz8UP5eCOyQC5y1VQf9no05nwm3AHkWAJdZ2uy
N+R9ZwzGewIaqLRWHwIDAQAB
-----END PUBLIC KEY-----
"""
}
