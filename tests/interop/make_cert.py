"""A CA and a server certificate it signs, for 127.0.0.1 and localhost, with
Python's `cryptography` (run.sh uses openssl when it is there). Writes ca.pem,
cert.pem and key.pem into the folder given."""

import datetime
import ipaddress
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

folder = Path(sys.argv[1])
now = datetime.datetime.now(datetime.timezone.utc)
until = now + datetime.timedelta(days=2)


def name(common):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (x509.CertificateBuilder()
      .subject_name(name("Tollgate interop CA")).issuer_name(name("Tollgate interop CA"))
      .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
      .not_valid_before(now).not_valid_after(until)
      .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
      .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                   content_commitment=False, key_encipherment=False,
                                   data_encipherment=False, key_agreement=False,
                                   encipher_only=False, decipher_only=False), critical=True)
      .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
      .sign(ca_key, hashes.SHA256()))

key = ec.generate_private_key(ec.SECP256R1())
server = (x509.CertificateBuilder()
          .subject_name(name("localhost")).issuer_name(ca.subject)
          .public_key(key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(until)
          .add_extension(x509.SubjectAlternativeName([
              x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
              critical=False)
          .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
          .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
          .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))

(folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
(folder / "cert.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
(folder / "key.pem").write_bytes(key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
