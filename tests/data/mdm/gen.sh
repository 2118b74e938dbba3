#!/usr/bin/env bash
# Regenerates the MDM enrollment test certificates and documents in this
# directory with openssl.  Throw-away keys: the private keys are deleted at
# the end (tests only need the certificates and the CSR key's public key).
#   root.der        self-signed "Test MDM Root" (CA:TRUE)
#   ca.der          "Test MDM Device CA" issued by root (CA:TRUE, pathlen 0)
#   client.der      client certificate for client.spki.der's key, issued by ca,
#                   EKU clientAuth, CN = a GUID (Intune-style device id)
#   client-otherkey.der   same issuer, a different key (key mismatch case)
#   client-servereku.der  CSR key, EKU serverAuth only (EKU case)
#   client.spki.der DER SubjectPublicKeyInfo of the CSR key
#   client.notbefore      client.der's notBefore as unix seconds
#   provdoc*.xml    wap-provisioningdoc (MS-MDE2 2.2.9.1) around them
#   rstr.xml        RequestSecurityTokenResponseCollection carrying provdoc.xml
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
days=36500

cat >"$tmp/ext.cnf" <<'CNF'
[ca_root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ca_int]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
[client_server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid
CNF

key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }
key "$tmp/root.key"; key "$tmp/ca.key"; key "$tmp/client.key"; key "$tmp/other.key"

openssl req -new -x509 -key "$tmp/root.key" -subj "/CN=Test MDM Root/O=linkjoin tests" \
  -days $days -sha256 -extensions ca_root -config <(cat /etc/ssl/openssl.cnf "$tmp/ext.cnf") \
  -outform DER -out root.der
openssl req -new -key "$tmp/ca.key" -subj "/CN=Test MDM Device CA/O=linkjoin tests" -out "$tmp/ca.csr"
openssl x509 -req -in "$tmp/ca.csr" -CA root.der -CAform DER -CAkey "$tmp/root.key" \
  -set_serial 2 -days $days -sha256 -extfile "$tmp/ext.cnf" -extensions ca_int \
  -outform DER -out ca.der 2>/dev/null

issue() { # key out extensions
  openssl req -new -key "$1" -subj "/CN=5f0c8e4a-3b1d-4c6e-9a7f-2d8b1e6c4a90" -out "$tmp/c.csr"
  openssl x509 -req -in "$tmp/c.csr" -CA ca.der -CAform DER -CAkey "$tmp/ca.key" \
    -set_serial "$RANDOM" -days $days -sha256 -extfile "$tmp/ext.cnf" -extensions "$3" \
    -outform DER -out "$2" 2>/dev/null
}
issue "$tmp/client.key" client.der client
issue "$tmp/other.key" client-otherkey.der client
issue "$tmp/client.key" client-servereku.der client_server
openssl pkey -in "$tmp/client.key" -pubout -outform DER -out client.spki.der
date -d "$(openssl x509 -in client.der -inform DER -noout -startdate | cut -d= -f2)" +%s \
  >client.notbefore

b64() { base64 -w0 "$1"; }
thumb() { openssl x509 -in "$1" -inform DER -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :; }

provdoc() { # client-cert-file
  cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<wap-provisioningdoc version="1.1">
  <characteristic type="CertificateStore">
    <characteristic type="Root">
      <characteristic type="System">
        <characteristic type="$(thumb root.der)">
          <parm name="EncodedCertificate" value="$(b64 root.der)"/>
        </characteristic>
      </characteristic>
    </characteristic>
    <characteristic type="CA">
      <characteristic type="System">
        <characteristic type="$(thumb ca.der)">
          <parm name="EncodedCertificate" value="$(b64 ca.der)"/>
        </characteristic>
      </characteristic>
    </characteristic>
    <characteristic type="My">
      <characteristic type="System">
        <characteristic type="$(thumb "$1")">
          <parm name="EncodedCertificate" value="$(b64 "$1")"/>
        </characteristic>
        <characteristic type="PrivateKeyContainer"/>
      </characteristic>
      <characteristic type="WSTEP">
        <characteristic type="Renew">
          <parm name="ROBOSupport" value="true" datatype="boolean"/>
          <parm name="RenewPeriod" value="60" datatype="integer"/>
          <parm name="RetryInterval" value="4" datatype="integer"/>
        </characteristic>
      </characteristic>
    </characteristic>
  </characteristic>
  <characteristic type="APPLICATION">
    <parm name="APPID" value="w7"/>
    <parm name="PROVIDER-ID" value="MS DM Server"/>
    <parm name="NAME" value="Microsoft Intune"/>
    <parm name="ADDR" value="https://r.manage.microsoft.com/devicegatewayproxy/cimhandler.ashx"/>
    <parm name="CONNRETRYFREQ" value="6"/>
    <parm name="INITIALBACKOFFTIME" value="30000"/>
    <parm name="MAXBACKOFFTIME" value="120000"/>
    <parm name="BACKCOMPATRETRYDISABLED"/>
    <parm name="DEFAULTENCODING" value="application/vnd.syncml.dm+wbxml"/>
    <characteristic type="APPAUTH">
      <parm name="AAUTHLEVEL" value="CLIENT"/>
      <parm name="AAUTHTYPE" value="DIGEST"/>
      <parm name="AAUTHSECRET" value="dummy"/>
      <parm name="AAUTHDATA" value="bm9uY2U="/>
    </characteristic>
    <characteristic type="APPAUTH">
      <parm name="AAUTHLEVEL" value="APPSRV"/>
      <parm name="AAUTHTYPE" value="DIGEST"/>
      <parm name="AAUTHNAME" value="dummy"/>
      <parm name="AAUTHSECRET" value="dummy"/>
      <parm name="AAUTHDATA" value="bm9uY2U="/>
    </characteristic>
  </characteristic>
  <characteristic type="DMClient">
    <characteristic type="Provider">
      <characteristic type="MS DM Server">
        <parm name="EntDeviceName" value="LINK-0001" datatype="string"/>
        <characteristic type="Poll">
          <parm name="NumberOfFirstRetries" value="8" datatype="integer"/>
          <parm name="IntervalForFirstSetOfRetries" value="15" datatype="integer"/>
        </characteristic>
      </characteristic>
    </characteristic>
  </characteristic>
</wap-provisioningdoc>
XML
}
provdoc client.der >provdoc.xml
provdoc client-otherkey.der >provdoc-otherkey.xml
provdoc client-servereku.der >provdoc-servereku.xml

cat >rstr.xml <<XML
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">
  <s:Header>
    <a:Action s:mustUnderstand="1">http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RSTRC/wstep</a:Action>
    <a:RelatesTo>urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749</a:RelatesTo>
    <ActivityId CorrelationId="8c0a6b5e-1f3e-4a7d-9c2b-5e6f7a8b9c0d" xmlns="http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics">d4f6a1b2-3c4d-4e5f-8a9b-0c1d2e3f4a5b</ActivityId>
    <o:Security s:mustUnderstand="1" xmlns:o="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
      <u:Timestamp u:Id="_0">
        <u:Created>2026-11-26T17:00:00.000Z</u:Created>
        <u:Expires>2026-11-26T17:05:00.000Z</u:Expires>
      </u:Timestamp>
    </o:Security>
  </s:Header>
  <s:Body>
    <RequestSecurityTokenResponseCollection xmlns="http://docs.oasis-open.org/ws-sx/ws-trust/200512">
      <RequestSecurityTokenResponse>
        <TokenType>http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken</TokenType>
        <DispositionMessage xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollment"/>
        <RequestedSecurityToken>
          <BinarySecurityToken ValueType="http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentProvisionDoc" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">$(b64 provdoc.xml)</BinarySecurityToken>
        </RequestedSecurityToken>
        <RequestID xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollment">0</RequestID>
      </RequestSecurityTokenResponse>
    </RequestSecurityTokenResponseCollection>
  </s:Body>
</s:Envelope>
XML
echo "generated in $(pwd)"
