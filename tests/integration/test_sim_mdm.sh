#!/usr/bin/env bash
# entra-sim Intune enrollment (enrollment.manage.microsoft.com): discovery,
# policy, RequestSecurityToken, the tenant's Intune policy, faults in
# Intune's SOAP shape, hardening against hostile XML, control routes.
# Messages are built here with heredocs + openssl (no agent code).
. "$(dirname "$0")/lib.sh"
DEMO=$LJ_TOP/hw-sim/tenants/demo.json
MDM=https://enrollment.manage.microsoft.com
DISC=$MDM/EnrollmentServer/Discovery.svc
POL=$MDM/StatelessEnrollmentService/EnrollmentPolicy.svc
ENR=$MDM/StatelessEnrollmentService/DeviceEnrollment.svc
MDM_AUD=https://enrollment.manage.microsoft.com/
SOAP_CT='Content-Type: application/soap+xml; charset=utf-8'
A_DISCOVER=http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/Discover
MFR="Microsoft Corporation" MODEL="Windows 365 Link" SERIAL="LJ-SIM-0001"

# Keys and CSRs once per script (each case has its own simulator).
K1=$LJ_SCRIPT_TMP/k1.pem K2=$LJ_SCRIPT_TMP/k2.pem KM=$LJ_SCRIPT_TMP/km.pem KS=$LJ_SCRIPT_TMP/ks.pem
sim_keygen "$K1"; sim_keygen "$K2"; sim_keygen "$KM"
openssl genrsa -out "$KS" 1024 2>/dev/null
sim_join_body "$K1" "$K2" >"$LJ_SCRIPT_TMP/jb1.json"
sim_join_body "$K2" "$K1" >"$LJ_SCRIPT_TMP/jb2.json"
MCSR=$(sim_csr_b64 "$KM" ConfigMgrEnroll)
SMALL_CSR=$(sim_csr_b64 "$KS" ConfigMgrEnroll)

uuid() { cat /proc/sys/kernel/random/uuid; }
# xp XPATH XML — evaluate an XPath (string) over XML text.
xp() { xmllint --xpath "$1" - 2>/dev/null <<<"$2"; }
el() { xp "string(//*[local-name()='$1'])" "$2"; }

# join_dev JOINBODY — join a device as alice; sets DEV (the Entra device id).
join_dev() {
  sim_join "$(sim_token alice@contoso.example)" "$1"
  assert_eq "$HTTP_STATUS" 200 "join ($BODY)"
  DEV=$(jq -r .Certificate.RawBody <<<"$BODY" | base64 -d |
    openssl x509 -inform der -noout -subject -nameopt RFC2253 | sed 's/^subject=CN=//')
}
# mdm_token [UPN] [EXTRA JSON MEMBERS] — an access token for the enrollment resource,
# device-authenticated (deviceid = $DEV) once a device is joined, as a PRT-based one is.
mdm_token() {
  sim_ctl POST /control/tokens "{\"upn\":\"${1:-alice@contoso.example}\",\"aud\":\"$MDM_AUD\"${DEV:+,\"deviceid\":\"$DEV\"}${2:-}}" |
    jq -r .access_token
}
# setup — simulator + joined device + Intune token: DEV, TOKB64 (base64 of the JWT).
setup() {
  sim_start "$DEMO"
  join_dev "$LJ_SCRIPT_TMP/jb1.json"
  TOKB64=$(printf %s "$(mdm_token)" | base64 -w0)
}

disc_body() { # [ACTION] [TO]
  cat <<EOF
<s:Envelope xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:s="http://www.w3.org/2003/05/soap-envelope">
  <s:Header>
    <a:Action s:mustUnderstand="1">${1:-$A_DISCOVER}</a:Action>
    <a:MessageID>urn:uuid:$MSGID</a:MessageID>
    <a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>
    <a:To s:mustUnderstand="1">${2:-https://enrollment.manage.microsoft.com:443/EnrollmentServer/Discovery.svc}</a:To>
  </s:Header>
  <s:Body>
    <Discover xmlns="http://schemas.microsoft.com/windows/management/2012/01/enrollment">
      <request xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
        <EmailAddress>alice@contoso.example</EmailAddress>
        <RequestVersion>4.0</RequestVersion>
        <DeviceType>CIMClient_Windows</DeviceType>
        <ApplicationVersion>10.0.26100.1</ApplicationVersion>
        <OSEdition>4</OSEdition>
        <AuthPolicies><AuthPolicy>OnPremise</AuthPolicy><AuthPolicy>Federated</AuthPolicy></AuthPolicies>
      </request>
    </Discover>
  </s:Body>
</s:Envelope>
EOF
}

# sec_header TOKB64 [VALUETYPE] — the WS-Security header with the token.
sec_header() {
  cat <<EOF
    <wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" s:mustUnderstand="1">
      <wsse:BinarySecurityToken ValueType="${2:-urn:ietf:params:oauth:token-type:jwt}" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary">$1</wsse:BinarySecurityToken>
    </wsse:Security>
EOF
}

pol_body() { # TOKB64
  cat <<EOF
<s:Envelope xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:s="http://www.w3.org/2003/05/soap-envelope">
  <s:Header>
    <a:Action s:mustUnderstand="1">http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPolicies</a:Action>
    <a:MessageID>urn:uuid:$MSGID</a:MessageID>
    <a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>
    <a:To s:mustUnderstand="1">https://enrollment.manage.microsoft.com/StatelessEnrollmentService/EnrollmentPolicy.svc</a:To>
$(sec_header "$1")
  </s:Header>
  <s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
    <GetPolicies xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy">
      <client><lastUpdate xsi:nil="true"/><preferredLanguage xsi:nil="true"/></client>
      <requestFilter xsi:nil="true"/>
    </GetPolicies>
  </s:Body>
</s:Envelope>
EOF
}

ctx() { echo "        <ac:ContextItem Name=\"$1\"><ac:Value>$2</ac:Value></ac:ContextItem>"; }
# rst_body — from TOKB64, CSR (default $MCSR), DEV, ETYPE (Device), MFR/MODEL/SERIAL,
# OMIT (a context item name to leave out), TOKVT (header ValueType), RTYPE (Issue).
rst_body() {
  local dev=${DEV//-/} name
  cat <<EOF
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512" xmlns:ac="http://schemas.xmlsoap.org/ws/2006/12/authorization">
  <s:Header>
    <a:Action s:mustUnderstand="1">http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep</a:Action>
    <a:MessageID>urn:uuid:$MSGID</a:MessageID>
    <a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>
    <a:To s:mustUnderstand="1">https://enrollment.manage.microsoft.com:443/StatelessEnrollmentService/DeviceEnrollment.svc?client-request-id=$MSGID</a:To>
$(sec_header "$TOKB64" "${TOKVT:-urn:ietf:params:oauth:token-type:jwt}")
  </s:Header>
  <s:Body>
    <wst:RequestSecurityToken>
      <wst:TokenType>${TTYPE:-http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken}</wst:TokenType>
      <wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/${RTYPE:-Issue}</wst:RequestType>
      <wsse:BinarySecurityToken ValueType="http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS10" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary">${CSR:-$MCSR}</wsse:BinarySecurityToken>
      <ac:AdditionalContext xmlns="http://schemas.xmlsoap.org/ws/2006/12/authorization">
$(for name in UXInitiated HWDevID Locale TargetedUserLoggedIn OSEdition DeviceName MAC DeviceID EnrollmentType DeviceType OSVersion ApplicationVersion NotInOobe Manufacturer DeviceModel SerialNumber; do
    [ "$name" = "${OMIT:-}" ] && continue
    case $name in
      UXInitiated|TargetedUserLoggedIn) ctx $name true ;;
      HWDevID) ctx $name "$dev${dev}" ;;
      Locale) ctx $name en-US ;;
      OSEdition) ctx $name 4 ;;
      DeviceName) ctx $name LINK-TEST ;;
      MAC) ctx $name 52-54-00-12-34-56 ;;
      DeviceID) ctx $name "$dev" ;;
      EnrollmentType) ctx $name "${ETYPE:-Device}" ;;
      DeviceType) ctx $name CIMClient_Windows ;;
      OSVersion) ctx $name "${OSVER:-10.0.26100.1}" ;;
      ApplicationVersion) ctx $name 10.0.26100.1 ;;
      NotInOobe) ctx $name false ;;
      Manufacturer) ctx $name "$MFR" ;;
      DeviceModel) ctx $name "$MODEL" ;;
      SerialNumber) ctx $name "$SERIAL" ;;
    esac
  done)
      </ac:AdditionalContext>
    </wst:RequestSecurityToken>
  </s:Body>
</s:Envelope>
EOF
}

post() { # URL FILE [CONTENT-TYPE HEADER]
  sim_req "$1" -H "${3:-$SOAP_CT}" --data-binary "@$2"
}
rst() { MSGID=$(uuid); rst_body >"$CASE/rst.xml"; post "$ENR?client-request-id=$MSGID" "$CASE/rst.xml"; }

# assert_fault STATUS SUBCODE ERRORTYPE [TEXT] — Intune's fault shape.
assert_fault() {
  assert_eq "$HTTP_STATUS" "$1" "status ($BODY)"
  assert_contains "$HEADERS" "application/soap+xml; charset=utf-8"
  assert_eq "$(xp "string(/*[local-name()='Envelope']/*[local-name()='Body']/*[local-name()='Fault']/*[local-name()='Code']/*[local-name()='Value'])" "$BODY")" s:Receiver "Code"
  assert_eq "$(xp "string(//*[local-name()='Subcode']/*[local-name()='Value'])" "$BODY")" "$2" "Subcode"
  assert_eq "$(xp "string(//*[local-name()='DeviceEnrollmentServiceError'][namespace-uri()='http://schemas.microsoft.com/windows/pki/2009/01/enrollment']/*[local-name()='ErrorType'])" "$BODY")" "$3" "ErrorType"
  assert_eq "$(xp "count(//*[local-name()='Header'])" "$BODY")" 0 "faults have no header"
  assert_eq "$(xp "string(//*[local-name()='Text']/@*[local-name()='lang'])" "$BODY")" en-US
  [[ "$(el TraceId "$BODY")" =~ ^[0-9a-f-]{36}$ ]] || fail "TraceId: $BODY"
  assert_eq "$(el Message "$BODY")" "$(el Text "$BODY")" "Message = Reason text"
  [ -n "${4:-}" ] && assert_contains "$(el Text "$BODY")" "$4"
  return 0
}

# ---- discovery ----

t_get_probe() {
  sim_start "$DEMO"
  sim_req "$DISC"
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$BODY" ""
  assert_contains "$HEADERS" "Content-Type: text/html"
  sim_req "$MDM/enrollmentserver/discovery.svc"
  assert_eq "$HTTP_STATUS" 200 "lower-case path"
}
t_discover_ok() {
  sim_start "$DEMO"
  MSGID=$(uuid); disc_body >"$CASE/d.xml"
  post "$DISC" "$CASE/d.xml"
  assert_eq "$HTTP_STATUS" 200 "$BODY"
  assert_contains "$HEADERS" "application/soap+xml; charset=utf-8"
  assert_eq "$(el Action "$BODY")" "$A_DISCOVER"Response
  assert_eq "$(el RelatesTo "$BODY")" "urn:uuid:$MSGID"
  [[ "$(el ActivityId "$BODY")" =~ ^[0-9a-f-]{36}$ ]] || fail "ActivityId"
  local r="//*[local-name()='DiscoverResponse'][namespace-uri()='http://schemas.microsoft.com/windows/management/2012/01/enrollment']/*[local-name()='DiscoverResult']"
  assert_eq "$(xp "string($r/*[local-name()='AuthPolicy'])" "$BODY")" Federated
  assert_eq "$(xp "string($r/*[local-name()='EnrollmentVersion'])" "$BODY")" 4.0
  assert_eq "$(xp "string($r/*[local-name()='EnrollmentPolicyServiceUrl'])" "$BODY")" "$POL"
  [[ "$(xp "string($r/*[local-name()='EnrollmentServiceUrl'])" "$BODY")" =~ ^$ENR\?client-request-id=[0-9a-f-]{36}$ ]] || fail "EnrollmentServiceUrl: $BODY"
  # The trailing-slash spelling of the namespace and a To without :443 are accepted too.
  sed 's#/2012/01/enrollment">#/2012/01/enrollment/">#; s#:443/Enroll#/Enroll#' "$CASE/d.xml" >"$CASE/d2.xml"
  post "$DISC" "$CASE/d2.xml"
  assert_eq "$HTTP_STATUS" 200 "$BODY"
}
t_discover_no_policy_url() {
  sim_start "$DEMO"
  sim_ctl PUT /control/intune '{"policy_service":false}' >/dev/null
  MSGID=$(uuid); disc_body >"$CASE/d.xml"; post "$DISC" "$CASE/d.xml"
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(xp "count(//*[local-name()='EnrollmentPolicyServiceUrl'])" "$BODY")" 0
  [ -n "$(el EnrollmentServiceUrl "$BODY")" ] || fail "no EnrollmentServiceUrl"
}
t_discover_wrong_action() {
  sim_start "$DEMO"; MSGID=$(uuid)
  disc_body http://example.invalid/Discover >"$CASE/d.xml"; post "$DISC" "$CASE/d.xml"
  assert_fault 500 a:ActionNotSupported MessageFormat "ContractFilter mismatch"
  # The a: prefix of this subcode is the WCF dispatcher namespace.
  assert_contains "$BODY" '<s:Value xmlns:a="http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher">a:ActionNotSupported</s:Value>'
}
t_discover_wrong_to() {
  sim_start "$DEMO"; MSGID=$(uuid)
  disc_body "$A_DISCOVER" https://evil.example/EnrollmentServer/Discovery.svc >"$CASE/d.xml"; post "$DISC" "$CASE/d.xml"
  assert_fault 500 s:MessageFormat MessageFormat "To header"
}
t_discover_wrong_content_type() {
  sim_start "$DEMO"; MSGID=$(uuid); disc_body >"$CASE/d.xml"
  post "$DISC" "$CASE/d.xml" 'Content-Type: text/xml'
  assert_fault 415 s:MessageFormat MessageFormat "content type 'text/xml'"
}
t_discover_soap11() {
  sim_start "$DEMO"; MSGID=$(uuid)
  disc_body | sed 's#http://www.w3.org/2003/05/soap-envelope#http://schemas.xmlsoap.org/soap/envelope/#' >"$CASE/d.xml"
  post "$DISC" "$CASE/d.xml"
  assert_fault 500 s:MessageFormat MessageFormat "SOAP 1.1"
}
t_discover_missing_field() {
  sim_start "$DEMO"; MSGID=$(uuid)
  disc_body | grep -v '<OSEdition>' >"$CASE/d.xml"; post "$DISC" "$CASE/d.xml"
  assert_fault 500 s:MessageFormat MessageFormat "OSEdition"
}
# [MS-MDE2] 3.1.4.1.3.1: ApplicationVersion is a DottedQuadType; os-release's
# "12" is not one.
t_discover_app_version_not_quad() {
  sim_start "$DEMO"; MSGID=$(uuid)
  disc_body | sed 's#<ApplicationVersion>10.0.26100.1<#<ApplicationVersion>12<#' >"$CASE/d.xml"
  post "$DISC" "$CASE/d.xml"
  assert_fault 500 s:MessageFormat MessageFormat "ApplicationVersion must be a dotted quad"
}
t_discover_no_federated() {
  sim_start "$DEMO"; MSGID=$(uuid)
  disc_body | sed 's#<AuthPolicy>Federated</AuthPolicy>##' >"$CASE/d.xml"; post "$DISC" "$CASE/d.xml"
  assert_fault 500 s:MessageFormat MessageFormat "Federated"
}
t_discover_bad_message_id() {
  sim_start "$DEMO"; MSGID=not-a-guid
  disc_body >"$CASE/d.xml"; post "$DISC" "$CASE/d.xml"
  assert_fault 500 s:MessageFormat MessageFormat "MessageID"
}
t_discover_method() {
  sim_start "$DEMO"
  sim_req -X PUT "$DISC"
  assert_eq "$HTTP_STATUS" 405
  sim_req "$POL"; assert_eq "$HTTP_STATUS" 405
  sim_req "$ENR"; assert_eq "$HTTP_STATUS" 405
}
t_unknown_path_and_host() {
  sim_start "$DEMO"
  sim_req "$MDM/EnrollmentServer/Nope.svc"; assert_eq "$HTTP_STATUS" 404
  sim_req "$MDM/contoso.example/Discover?api-version=1.9"
  assert_eq "$HTTP_STATUS" 404 "DRS paths are not served on the Intune host"
  sim_req -X POST https://login.microsoftonline.com/EnrollmentServer/Discovery.svc
  assert_eq "$HTTP_STATUS" 404 "Intune paths are not served on the login host"
}

# ---- policy ----

t_policy_ok() {
  setup; MSGID=$(uuid)
  pol_body "$TOKB64" >"$CASE/p.xml"; post "$POL" "$CASE/p.xml"
  assert_eq "$HTTP_STATUS" 200 "$BODY"
  assert_eq "$(el Action "$BODY")" http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPoliciesResponse
  assert_eq "$(el RelatesTo "$BODY")" "urn:uuid:$MSGID"
  assert_eq "$(el minimalKeyLength "$BODY")" 2048
  local ref; ref=$(el hashAlgorithmOIDReference "$BODY")
  assert_eq "$(xp "string(//*[local-name()='oID'][*[local-name()='oIDReferenceID']='$ref']/*[local-name()='value'])" "$BODY")" 2.16.840.1.101.3.4.2.1 "hash = SHA-256"
  # The classic ValueType is accepted for GetPolicies.
  sed 's#urn:ietf:params:oauth:token-type:jwt#http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentUserToken#' "$CASE/p.xml" >"$CASE/p2.xml"
  post "$POL" "$CASE/p2.xml"; assert_eq "$HTTP_STATUS" 200
}
t_policy_no_token() {
  setup; MSGID=$(uuid)
  pol_body "$TOKB64" | grep -v BinarySecurityToken >"$CASE/p.xml"; post "$POL" "$CASE/p.xml"
  assert_fault 500 s:Authentication Authentication "security token is missing"
}
t_policy_bad_token() {
  setup; MSGID=$(uuid)
  pol_body "$(printf %s "$(mdm_token alice@contoso.example ',"forge":"bad_signature"')" | base64 -w0)" >"$CASE/p.xml"
  post "$POL" "$CASE/p.xml"
  assert_fault 500 s:Authentication Authentication "could not be validated"
}

# ---- enrollment ----

t_enroll_ok() {
  setup; rst
  assert_eq "$HTTP_STATUS" 200 "$BODY"
  assert_contains "$HEADERS" "application/soap+xml; charset=utf-8"
  assert_eq "$(el Action "$BODY")" http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RSTRC/wstep
  assert_eq "$(el RelatesTo "$BODY")" "urn:uuid:$MSGID"
  [ -n "$(el Created "$BODY")" ] && [ -n "$(el Expires "$BODY")" ] || fail "no u:Timestamp"
  local rstr="//*[local-name()='RequestSecurityTokenResponseCollection'][namespace-uri()='http://docs.oasis-open.org/ws-sx/ws-trust/200512']/*[local-name()='RequestSecurityTokenResponse']"
  assert_eq "$(xp "string($rstr/*[local-name()='TokenType'])" "$BODY")" http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken
  assert_eq "$(xp "string($rstr/*[local-name()='RequestedSecurityToken']/*[local-name()='BinarySecurityToken']/@ValueType)" "$BODY")" \
    http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentProvisionDoc
  assert_eq "$(xp "string($rstr/*[local-name()='RequestID'])" "$BODY")" 0
  xp "string($rstr/*[local-name()='RequestedSecurityToken']/*[local-name()='BinarySecurityToken'])" "$BODY" | base64 -d >"$CASE/prov.xml" || fail "token is not base64"
  local P; P=$(cat "$CASE/prov.xml")
  assert_eq "$(xp "name(/*)" "$P")" wap-provisioningdoc
  assert_eq "$(xp "string(/*/@version)" "$P")" 1.1
  local cs="/wap-provisioningdoc/characteristic[@type='CertificateStore']"
  xp "string($cs/characteristic[@type='Root']/characteristic[@type='System']/characteristic/parm[@name='EncodedCertificate']/@value)" "$P" | base64 -d >"$CASE/root.der"
  xp "string($cs/characteristic[@type='CA']/characteristic[@type='System']/characteristic/parm[@name='EncodedCertificate']/@value)" "$P" | base64 -d >"$CASE/ca.der"
  xp "string($cs/characteristic[@type='My']/characteristic[@type='System']/characteristic[parm]/parm[@name='EncodedCertificate']/@value)" "$P" | base64 -d >"$CASE/client.der"
  assert_eq "$(xp "count($cs/characteristic[@type='My']/characteristic[@type='System']/characteristic[@type='PrivateKeyContainer'])" "$P")" 1
  for c in root ca client; do openssl x509 -inform der -in "$CASE/$c.der" -out "$CASE/$c.pem" || fail "$c is not a certificate"; done
  # Thumbprints name the characteristics.
  local th; th=$(openssl x509 -in "$CASE/client.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
  assert_eq "$(xp "string($cs/characteristic[@type='My']/characteristic[@type='System']/characteristic[parm]/@type)" "$P")" "$th"
  th=$(openssl x509 -in "$CASE/root.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
  assert_eq "$(xp "string($cs/characteristic[@type='Root']/characteristic[@type='System']/characteristic/@type)" "$P")" "$th"
  openssl verify -CAfile "$CASE/root.pem" -untrusted "$CASE/ca.pem" "$CASE/client.pem" >/dev/null || fail "chain does not verify"
  cmp -s "$CASE/root.pem" <(openssl x509 -in "$SIM_STATE/mdm-root.pem") || fail "root is not the state dir's MDM root"
  local txt; txt=$(openssl x509 -in "$CASE/client.pem" -noout -text)
  assert_contains "$txt" "Issuer: CN = Microsoft Intune MDM Device CA"
  assert_contains "$txt" "TLS Web Client Authentication"
  assert_eq "$(openssl x509 -in "$CASE/client.pem" -noout -pubkey)" "$(openssl rsa -in "$KM" -pubout 2>/dev/null)" "client cert carries the CSR key"
  local iid; iid=$(openssl x509 -in "$CASE/client.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=CN=//')
  [[ $iid =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] || fail "Intune device id $iid"
  assert_ne "$iid" "$DEV" "Intune id differs from the Entra device id"
  assert_contains "$(openssl x509 -in "$CASE/ca.pem" -noout -text)" "CA:TRUE"
  # APPLICATION (w7) and DMClient.
  local app="/wap-provisioningdoc/characteristic[@type='APPLICATION']"
  assert_eq "$(xp "string($app/parm[@name='APPID']/@value)" "$P")" w7
  assert_eq "$(xp "string($app/parm[@name='PROVIDER-ID']/@value)" "$P")" "MS DM Server"
  assert_eq "$(xp "string($app/parm[@name='ADDR']/@value)" "$P")" https://r.manage.microsoft.com/devicegatewayproxy/cimhandler.ashx
  assert_eq "$(xp "count($app/characteristic[@type='APPAUTH'])" "$P")" 2
  assert_eq "$(xp "count(/wap-provisioningdoc/characteristic[@type='DMClient']/characteristic[@type='Provider']/characteristic[@type='MS DM Server'])" "$P")" 1
  assert_eq "$(xp "string(//characteristic[@type='MS DM Server']/parm[@name='UPN']/@value)" "$P")" alice@contoso.example
  # Recorded, with the device identity captured.
  local e; e=$(sim_ctl GET /control/enrollments)
  assert_eq "$(jq length <<<"$e")" 1
  assert_eq "$(jq -r '.[0].id' <<<"$e")" "$iid"
  assert_eq "$(jq -r '.[0].device_id' <<<"$e")" "$DEV"
  assert_eq "$(jq -r '.[0].upn' <<<"$e")" alice@contoso.example
  assert_eq "$(jq -r '.[0].manufacturer + "|" + .[0].model + "|" + .[0].serial' <<<"$e")" "$MFR|$MODEL|$SERIAL"
  assert_eq "$(jq -r '.[0].os_version' <<<"$e")" 10.0.26100.1
  assert_eq "$(jq -r '.[0].ownership' <<<"$e")" corporate
  assert_eq "$(jq -r '.[0].thumbprint' <<<"$e")" "$(openssl x509 -in "$CASE/client.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')"
  assert_eq "$(sim_ctl GET "/control/enrollments/$DEV" | jq -r .id)" "$iid"
}
t_enroll_guid_device_id_and_wsse_attrs() {
  # DeviceID with hyphens, and the doc sample's wsse:-prefixed attributes.
  setup; MSGID=$(uuid)
  rst_body | sed "s#<ac:Value>${DEV//-/}</ac:Value>#<ac:Value>$DEV</ac:Value>#; s# ValueType=# wsse:ValueType=#; s# EncodingType=# wsse:EncodingType=#" >"$CASE/rst.xml"
  post "$ENR" "$CASE/rst.xml"
  assert_eq "$HTTP_STATUS" 200 "$BODY"
}
t_enroll_token_by_refresh() {
  # A token for the enrollment resource from the sign-in's refresh token (no
  # deviceid) is taken only with the compatibility switch for older agents
  # (intune.require_device_claim false); mdm_rst_refresh_token_refused is the
  # real behaviour.
  sim_start "$DEMO"; join_dev "$LJ_SCRIPT_TMP/jb1.json"
  sim_ctl PUT /control/intune '{"require_device_claim":false}' >/dev/null
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'; assert_eq "$HTTP_STATUS" 200
  local rt; rt=$(jq -r .refresh_token <<<"$BODY")
  sim_req https://login.microsoftonline.com/contoso.example/oauth2/token -d grant_type=refresh_token \
    -d client_id=1b730954-1685-4b74-9bfd-dac224a7b894 --data-urlencode "refresh_token=$rt" \
    --data-urlencode "resource=$MDM_AUD"
  assert_eq "$HTTP_STATUS" 200 "$BODY"
  TOKB64=$(jq -r .access_token <<<"$BODY" | tr -d '\n' | base64 -w0)
  rst; assert_eq "$HTTP_STATUS" 200 "$BODY"
}
t_mdm_claims_in_scope() {
  sim_start "$DEMO"
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'; assert_eq "$HTTP_STATUS" 200
  local c; c=$(jwt_claims "$(jq -r .id_token <<<"$BODY")")
  assert_eq "$(jq -r .mdm_enrollment_url <<<"$c")" "$DISC"
  assert_eq "$(jq -r .mdm_terms_of_use_url <<<"$c")" https://portal.manage.microsoft.com/TermsofUse.aspx
  assert_eq "$(jq -r .mdm_compliance_url <<<"$c")" "https://portal.manage.microsoft.com/?portalAction=Compliance"
  # the compatibility switch for older agents also puts them in the DRS access token
  sim_ctl PUT /control/intune '{"mdm_claims_in_access_token":true}' >/dev/null
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'; assert_eq "$HTTP_STATUS" 200
  assert_eq "$(jwt_claims "$(jq -r .access_token <<<"$BODY")" | jq -r .mdm_enrollment_url)" "$DISC" "DRS access token"
}
t_mdm_claims_not_in_access_token() {
  # The real service: MDM URLs only in the sign-in's id_token (Learn, device registration
  # phase D), never in DRS access tokens (the default; a compatibility switch turns them on).
  sim_start "$DEMO"
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'; assert_eq "$HTTP_STATUS" 200
  assert_eq "$(jwt_claims "$(jq -r .id_token <<<"$BODY")" | jq -r .mdm_enrollment_url)" "$DISC"
  assert_eq "$(jwt_claims "$(jq -r .access_token <<<"$BODY")" | jq -c '[.mdm_enrollment_url,.mdm_terms_of_use_url,.mdm_compliance_url]')" '[null,null,null]'
  assert_eq "$(jwt_claims "$(sim_token alice@contoso.example)" | jq -r .mdm_enrollment_url)" null "control token"
}
# intune.require_device_claim (the real behaviour): the RST's token must name the device.
real_rst_setup() {
  setup
  sim_ctl PUT /control/intune '{"require_device_claim":true}' >/dev/null
}
t_rst_device_claim_ok() {
  real_rst_setup
  assert_eq "$(jwt_claims "$(base64 -d <<<"$TOKB64")" | jq -r .deviceid)" "$DEV"
  rst; assert_eq "$HTTP_STATUS" 200 "$BODY"
}
t_rst_device_claim_missing() {
  real_rst_setup
  TOKB64=$(sim_ctl POST /control/tokens "{\"upn\":\"alice@contoso.example\",\"aud\":\"$MDM_AUD\"}" | jq -r .access_token | tr -d '\n' | base64 -w0)
  rst; assert_fault 500 s:Authentication Authentication "no deviceid claim"
  assert_eq "$(sim_ctl GET /control/enrollments | jq length)" 0
}
t_rst_device_claim_other() {
  real_rst_setup
  local other; other=$(uuid)
  TOKB64=$(sim_ctl POST /control/tokens "{\"upn\":\"alice@contoso.example\",\"aud\":\"$MDM_AUD\",\"deviceid\":\"$other\"}" | jq -r .access_token | tr -d '\n' | base64 -w0)
  rst; assert_fault 500 s:Authentication Authentication "was issued to device $other, not to the device $DEV"
}
t_rst_refresh_token_refused() {
  # A plain refresh-token grant gives no deviceid: real Intune would refuse the enrollment.
  real_rst_setup
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'; assert_eq "$HTTP_STATUS" 200
  local rt; rt=$(jq -r .refresh_token <<<"$BODY")
  sim_req https://login.microsoftonline.com/contoso.example/oauth2/token -d grant_type=refresh_token \
    -d client_id=1b730954-1685-4b74-9bfd-dac224a7b894 --data-urlencode "refresh_token=$rt" \
    --data-urlencode "resource=$MDM_AUD"
  assert_eq "$HTTP_STATUS" 200 "$BODY"
  assert_eq "$(jwt_claims "$(jq -r .access_token <<<"$BODY")" | jq -r .deviceid)" null
  TOKB64=$(jq -r .access_token <<<"$BODY" | tr -d '\n' | base64 -w0)
  rst; assert_fault 500 s:Authentication Authentication "no deviceid claim"
}
t_mdm_claims_out_of_scope() {
  sim_start "$DEMO"
  sim_ctl PUT /control/intune '{"mdm_user_scope":"none"}' >/dev/null
  sim_ropc alice@contoso.example 'Demo-Passw0rd!'; assert_eq "$HTTP_STATUS" 200
  assert_eq "$(jwt_claims "$(jq -r .id_token <<<"$BODY")" | jq -r .mdm_enrollment_url)" null
  assert_eq "$(jwt_claims "$(jq -r .access_token <<<"$BODY")" | jq -r .mdm_enrollment_url)" null
}
t_reenroll_no_quota() {
  setup
  sim_ctl PUT /control/intune '{"device_limit":1}' >/dev/null
  rst; assert_eq "$HTTP_STATUS" 200 "$BODY"
  local id1; id1=$(sim_ctl GET /control/enrollments | jq -r '.[0].id')
  rst; assert_eq "$HTTP_STATUS" 200 "re-enrollment of the same device: $BODY"
  local e; e=$(sim_ctl GET /control/enrollments)
  assert_eq "$(jq length <<<"$e")" 1
  assert_eq "$(jq -r '.[0].enroll_count' <<<"$e")" 2
  assert_eq "$(jq -r '.[0].id' <<<"$e")" "$id1" "same Intune device id"
}
t_device_cap() {
  setup
  sim_ctl PUT /control/intune '{"device_limit":1}' >/dev/null
  rst; assert_eq "$HTTP_STATUS" 200 "$BODY"
  local first=$DEV
  join_dev "$LJ_SCRIPT_TMP/jb2.json"
  assert_ne "$DEV" "$first"
  TOKB64=$(printf %s "$(mdm_token)" | base64 -w0) # the second device's own token
  rst
  assert_fault 500 s:DeviceCapReached DeviceCapReached "maximum number of devices (1)"
  assert_eq "$(sim_ctl GET /control/enrollments | jq length)" 1
  # Deleting the first enrollment frees the slot.
  sim_ctl DELETE "/control/enrollments/$first" >/dev/null
  rst; assert_eq "$HTTP_STATUS" 200 "$BODY"
}
t_not_in_scope() {
  setup
  sim_ctl PUT /control/intune '{"mdm_user_scope":"none"}' >/dev/null
  rst
  assert_fault 500 s:Authorization Authorization "is not in the MDM user scope"
  assert_contains "$(el Text "$BODY")" "alice@contoso.example"
}
t_scope_some_groups() {
  setup
  sim_ctl PUT /control/intune '{"mdm_user_scope":"some","mdm_user_scope_groups":["Frontline"]}' >/dev/null
  rst; assert_fault 500 s:Authorization Authorization "MDM user scope"
  sim_ctl PUT /control/intune '{"mdm_user_scope_groups":["Frontline","Device Joiners"]}' >/dev/null
  rst; assert_eq "$HTTP_STATUS" 200 "in scope through Device Joiners: $BODY"
}
t_no_intune_licence() {
  setup
  sim_ctl PATCH /control/users/alice@contoso.example '{"licenses":["entra_p1"]}' >/dev/null
  rst
  assert_fault 500 s:Authorization UserLicense "no Microsoft Intune license"
  assert_eq "$(sim_ctl GET /control/enrollments | jq length)" 0 "nothing recorded"
}
t_no_p1_licence() {
  setup
  sim_ctl PATCH /control/users/alice@contoso.example '{"licenses":["intune"]}' >/dev/null
  rst; assert_fault 500 s:Authorization UserLicense "Microsoft Entra ID P1"
}
t_m365_licence() {
  setup
  sim_ctl PATCH /control/users/alice@contoso.example '{"licenses":["m365_e3"]}' >/dev/null
  rst; assert_eq "$HTTP_STATUS" 200 "M365 E3 includes Intune and P1: $BODY"
}
t_platform_blocked() {
  setup
  sim_ctl PUT /control/intune '{"windows":"blocked"}' >/dev/null
  rst
  assert_fault 500 s:Authorization DeviceNotSupported "Windows (MDM) platform is blocked by an enrollment restriction"
  assert_not_contains "$(el Text "$BODY")" "ersonal"
}
t_ownership_blocked() {
  setup
  sim_ctl PUT /control/intune '{"block_personally_owned":true,"corporate_identifiers":["Microsoft Corporation,Windows 365 Link,OTHER-SERIAL"]}' >/dev/null
  rst
  assert_fault 500 s:Authorization DeviceNotSupported "Device Identifier not preregistered"
  local t; t=$(el Text "$BODY")
  assert_contains "$t" "corporate identifier"
  assert_contains "$t" "manufacturer '$MFR'"
  assert_contains "$t" "model '$MODEL'"
  assert_contains "$t" "serial '$SERIAL'"
}
t_ownership_corporate_id() {
  setup
  sim_ctl PUT /control/intune "{\"block_personally_owned\":true,\"corporate_identifiers\":[\"x,y,z\",\" microsoft corporation , WINDOWS 365 LINK ,$SERIAL\"]}" >/dev/null
  rst; assert_eq "$HTTP_STATUS" 200 "serial listed as a corporate identifier: $BODY"
  assert_eq "$(sim_ctl GET /control/enrollments | jq -r '.[0].corporate_identifier')" true
}
t_ownership_no_identity() {
  # Without Manufacturer/DeviceModel/SerialNumber nothing can match.
  setup
  sim_ctl PUT /control/intune "{\"block_personally_owned\":true,\"corporate_identifiers\":[\"$MFR,$MODEL,$SERIAL\"]}" >/dev/null
  OMIT=SerialNumber rst
  assert_fault 500 s:Authorization DeviceNotSupported "serial ''"
}

t_token_wrong_audience() {
  setup
  TOKB64=$(sim_token alice@contoso.example | tr -d '\n' | base64 -w0)
  rst; assert_fault 500 s:Authentication Authentication "could not be validated"
}
t_token_app_id_audience() {
  setup
  TOKB64=$(sim_ctl POST /control/tokens "{\"upn\":\"alice@contoso.example\",\"aud\":\"0000000a-0000-0000-c000-000000000000\",\"deviceid\":\"$DEV\"}" | jq -r .access_token | tr -d '\n' | base64 -w0)
  rst; assert_eq "$HTTP_STATUS" 200 "Intune app id audience: $BODY"
}
t_token_expired() {
  setup; TOKB64=$(printf %s "$(mdm_token alice@contoso.example ',"expires_in":-10')" | base64 -w0)
  rst; assert_fault 500 s:Authentication Authentication
}
t_token_other_tenant() {
  setup; TOKB64=$(printf %s "$(mdm_token alice@contoso.example ',"tid":"11111111-2222-4333-8444-555555555555"')" | base64 -w0)
  rst; assert_fault 500 s:Authentication Authentication
}
t_token_other_key() {
  setup; TOKB64=$(printf %s "$(mdm_token alice@contoso.example ',"forge":"other_key"')" | base64 -w0)
  rst; assert_fault 500 s:Authentication Authentication
}
t_token_not_base64() {
  setup; TOKB64='!!not base64!!'
  rst; assert_fault 500 s:Authentication Authentication
}
t_token_raw_jwt() {
  # The JWT itself instead of base64 of it.
  setup; TOKB64=$(mdm_token)
  rst; assert_fault 500 s:Authentication Authentication
}
t_token_wrong_value_type() {
  setup; TOKVT=http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentUserToken
  rst; assert_fault 500 s:MessageFormat MessageFormat "ValueType"
}
t_user_disabled() {
  setup
  sim_ctl PATCH /control/users/alice@contoso.example '{"enabled":false}' >/dev/null
  rst; assert_fault 500 s:Authentication Authentication
}
t_csr_small_key() { setup; CSR=$SMALL_CSR rst; assert_fault 500 s:MessageFormat MessageFormat "2048"; }
t_csr_bad_signature() {
  setup
  CSR=$(base64 -d <<<"$MCSR" | xxd -p | tr -d '\n' | sed 's/..$/00/' | xxd -r -p | base64 -w0)
  [ "$CSR" != "$MCSR" ] || CSR=$(base64 -d <<<"$MCSR" | xxd -p | tr -d '\n' | sed 's/..$/01/' | xxd -r -p | base64 -w0)
  rst; assert_fault 500 s:MessageFormat MessageFormat "signature"
}
t_csr_not_base64() { setup; CSR='%%%'; rst; assert_fault 500 s:MessageFormat MessageFormat "base64"; }
t_csr_not_der() { setup; CSR=$(printf 'hello world' | base64 -w0); rst; assert_fault 500 s:MessageFormat MessageFormat "invalid"; }
t_device_not_joined() {
  setup
  sim_ctl DELETE /control/devices >/dev/null
  rst; assert_fault 500 s:Authorization Authorization "is not registered"
}
t_device_registered_only() {
  setup
  jq '.JoinType=4' "$LJ_SCRIPT_TMP/jb2.json" >"$CASE/jb4.json"
  join_dev "$CASE/jb4.json"
  TOKB64=$(printf %s "$(mdm_token)" | base64 -w0)
  rst; assert_fault 500 s:Authorization Authorization "not Microsoft Entra joined"
}
t_enrollment_type_full() { setup; ETYPE=Full rst; assert_fault 500 s:MessageFormat MessageFormat "EnrollmentType 'Full'"; }
t_os_version_not_quad() { setup; OSVER=12 rst; assert_fault 500 s:MessageFormat MessageFormat "OSVersion a dotted quad"; }
t_missing_hwdevid() { setup; OMIT=HWDevID rst; assert_fault 500 s:MessageFormat MessageFormat "'HWDevID' is required"; }
t_missing_device_id() { setup; OMIT=DeviceID rst; assert_fault 500 s:MessageFormat MessageFormat "'DeviceID' is required"; }
t_bad_device_id() {
  setup; MSGID=$(uuid)
  rst_body | sed "s#<ac:Value>${DEV//-/}</ac:Value>#<ac:Value>xyz</ac:Value>#" >"$CASE/rst.xml"
  post "$ENR" "$CASE/rst.xml"; assert_fault 500 s:MessageFormat MessageFormat "DeviceID"
}
t_wrong_token_type() { setup; TTYPE=urn:nope rst; assert_fault 500 s:MessageFormat MessageFormat "TokenType"; }
t_renew_unsupported() { setup; RTYPE=Renew rst; assert_fault 500 s:MessageFormat MessageFormat "Renew"; }
t_wrong_action_on_enroll() {
  setup; MSGID=$(uuid)
  rst_body | sed 's#enrollment/RST/wstep#enrollment/RST/other#' >"$CASE/rst.xml"
  post "$ENR" "$CASE/rst.xml"; assert_fault 500 a:ActionNotSupported MessageFormat
}
t_context_too_many_items() {
  setup; MSGID=$(uuid)
  local items; items=$(for i in $(seq 70); do ctx "X$i" v; done)
  rst_body | awk -v add="$items" '/<\/ac:AdditionalContext>/{print add} {print}' >"$CASE/rst.xml"
  post "$ENR" "$CASE/rst.xml"; assert_fault 500 s:MessageFormat MessageFormat "at most 64"
}

# ---- hostile requests ----

t_request_xml_bomb() {
  setup
  { echo '<?xml version="1.0"?>'
    echo '<!DOCTYPE s:Envelope [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>'
    MSGID=$(uuid) rst_body | sed 's#<ac:Value>LINK-TEST</ac:Value>#<ac:Value>\&h;</ac:Value>#'
  } >"$CASE/bomb.xml"
  post "$ENR" "$CASE/bomb.xml"
  assert_fault 500 s:MessageFormat MessageFormat "DTDs and entity declarations are not allowed"
  assert_eq "$(sim_ctl GET /control/enrollments | jq length)" 0
  kill -0 "$SIM_PID" || fail "simulator died"
}
t_request_external_entity() {
  setup; MSGID=$(uuid)
  { echo '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'; rst_body; } >"$CASE/x.xml"
  post "$ENR" "$CASE/x.xml"
  assert_fault 500 s:MessageFormat MessageFormat "DTDs"
  assert_not_contains "$BODY" "root:"
}
t_request_deep() {
  setup; MSGID=$(uuid)
  local open close
  open=$(printf '<x>%.0s' $(seq 5000)); close=$(printf '</x>%.0s' $(seq 5000))
  rst_body | sed "s#<wst:RequestSecurityToken>#<wst:RequestSecurityToken>$open$close#" >"$CASE/deep.xml"
  post "$ENR" "$CASE/deep.xml"
  assert_fault 500 s:MessageFormat MessageFormat
  # Just past the depth limit (33 levels) is refused too.
  open=$(printf '<x>%.0s' $(seq 30)); close=$(printf '</x>%.0s' $(seq 30))
  rst_body | sed "s#<wst:RequestSecurityToken>#<wst:RequestSecurityToken>$open$close#" >"$CASE/deep2.xml"
  post "$ENR" "$CASE/deep2.xml"
  assert_fault 500 s:MessageFormat MessageFormat "nested too deeply"
}
t_request_not_xml() {
  setup
  printf '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>' >"$CASE/t.xml"
  post "$ENR" "$CASE/t.xml"; assert_fault 500 s:MessageFormat MessageFormat "not well-formed"
  printf '' >"$CASE/e.xml"
  post "$ENR" "$CASE/e.xml"; assert_fault 500 s:MessageFormat MessageFormat "empty"
}
t_request_oversized() {
  setup
  head -c 70000 /dev/zero | tr '\0' a >"$CASE/big.xml"
  post "$ENR" "$CASE/big.xml"
  assert_fault 413 s:MessageFormat MessageFormat "too large"
}

# ---- faults injected through the control API ----

t_fault_503() {
  setup
  sim_ctl POST /control/faults '{"path_prefix":"/StatelessEnrollmentService/DeviceEnrollment.svc","kind":"status","status":503}' >/dev/null
  rst; assert_fault 503 s:InMaintenance InMaintenance
  rst; assert_eq "$HTTP_STATUS" 200 "count 1: the next request works"
}
t_fault_429() {
  setup
  sim_ctl POST /control/faults '{"path_prefix":"/StatelessEnrollmentService","kind":"status","status":429,"retry_after":120}' >/dev/null
  rst; assert_fault 429 s:EnrollmentServer EnrollmentServer "try after 120 seconds"
  assert_contains "$HEADERS" "Retry-After: 120"
}
t_fault_500_discovery() {
  sim_start "$DEMO"
  sim_ctl POST /control/faults '{"path_prefix":"/EnrollmentServer/Discovery.svc","method":"POST","kind":"status","status":500}' >/dev/null
  MSGID=$(uuid); disc_body >"$CASE/d.xml"; post "$DISC" "$CASE/d.xml"
  assert_fault 500 a:InternalServiceFault InternalServiceFault
}
t_fault_delay() {
  setup
  sim_ctl POST /control/faults '{"path_prefix":"/StatelessEnrollmentService","kind":"delay","delay_ms":300}' >/dev/null
  rst; assert_eq "$HTTP_STATUS" 200
  assert_eq "$(sim_ctl GET '/control/requests?path_prefix=/StatelessEnrollmentService' | jq -r '.[-1].fault')" delay
}
t_fault_drop() {
  setup
  sim_ctl POST /control/faults '{"path_prefix":"/StatelessEnrollmentService","kind":"drop"}' >/dev/null
  MSGID=$(uuid); rst_body >"$CASE/rst.xml"
  local rc=0
  sim_curl -o /dev/null -H "$SOAP_CT" --data-binary "@$CASE/rst.xml" "$ENR" 2>/dev/null || rc=$?
  assert_eq "$rc" 18 "curl: partial file"
}
t_fault_close() {
  sim_start "$DEMO"
  sim_ctl POST /control/faults '{"path_prefix":"/EnrollmentServer/Discovery.svc","kind":"close"}' >/dev/null
  local rc=0
  sim_curl -o /dev/null "$DISC" 2>/dev/null || rc=$?
  assert_eq "$rc" 52 "curl: empty reply"
}
t_fault_malformed() {
  setup
  sim_ctl POST /control/faults '{"path_prefix":"/StatelessEnrollmentService","kind":"malformed"}' >/dev/null
  rst; assert_eq "$HTTP_STATUS" 200
  assert_contains "$BODY" "<s:Envelope"
  xmllint --noout - <<<"$BODY" 2>/dev/null && fail "malformed body parsed"
  return 0
}
t_fault_oversized() {
  sim_start "$DEMO"
  sim_ctl POST /control/faults '{"path_prefix":"/EnrollmentServer/Discovery.svc","kind":"oversized","size":300000}' >/dev/null
  MSGID=$(uuid); disc_body >"$CASE/d.xml"; post "$DISC" "$CASE/d.xml"
  assert_eq "$HTTP_STATUS" 200
  assert_eq "${#BODY}" 300000
  assert_contains "$HEADERS" "application/soap+xml"
  xmllint --noout - <<<"$BODY" || fail "oversized body is not XML"
}
t_fault_content_type() {
  sim_start "$DEMO"
  sim_ctl POST /control/faults '{"path_prefix":"/EnrollmentServer/Discovery.svc","kind":"content_type"}' >/dev/null
  MSGID=$(uuid); disc_body >"$CASE/d.xml"; post "$DISC" "$CASE/d.xml"
  assert_eq "$HTTP_STATUS" 200
  assert_contains "$HEADERS" "Content-Type: text/html"
  assert_eq "$(el AuthPolicy "$BODY")" Federated "real body"
}
t_fault_html() {
  sim_start "$DEMO"
  sim_ctl POST /control/faults '{"path_prefix":"/EnrollmentServer","kind":"html"}' >/dev/null
  MSGID=$(uuid); disc_body >"$CASE/d.xml"; post "$DISC" "$CASE/d.xml"
  assert_eq "$HTTP_STATUS" 200
  assert_contains "$BODY" "<!DOCTYPE html>"
}
t_fault_xml_bomb() {
  setup
  sim_ctl POST /control/faults '{"path_prefix":"/StatelessEnrollmentService/DeviceEnrollment.svc","kind":"xml_bomb"}' >/dev/null
  rst
  assert_eq "$HTTP_STATUS" 200
  assert_contains "$HEADERS" "application/soap+xml"
  assert_contains "$BODY" "<!DOCTYPE s:Envelope ["
  assert_contains "$BODY" '<!ENTITY lol9 "&lol8;&lol8;'
  assert_contains "$BODY" "&lol9;"
  [ "${#BODY}" -lt 4096 ] || fail "bomb should be small before expansion"
  assert_eq "$(sim_ctl GET /control/enrollments | jq length)" 1 "the real request was processed"
}
t_fault_deep() {
  sim_start "$DEMO"
  sim_ctl POST /control/faults '{"path_prefix":"/EnrollmentServer/Discovery.svc","kind":"deep","depth":2000}' >/dev/null
  MSGID=$(uuid); disc_body >"$CASE/d.xml"; post "$DISC" "$CASE/d.xml"
  assert_eq "$HTTP_STATUS" 200
  assert_eq "$(grep -o '<d>' <<<"$BODY" | wc -l)" 2000
  xmllint --noout --huge - <<<"$BODY" || fail "deep body is well-formed XML"
  assert_eq "$(sim_ctl POST /control/faults '{"path_prefix":"/x","kind":"deep","depth":0}' >/dev/null; echo $?)" 1 "depth 0 refused"
}

# ---- control API and tenant file ----

t_control_intune() {
  sim_start "$DEMO"
  local g; g=$(sim_ctl GET /control/intune)
  assert_eq "$(jq -r .mdm_user_scope <<<"$g")" all
  assert_eq "$(jq -r .windows <<<"$g")" allowed
  assert_eq "$(jq -r .block_personally_owned <<<"$g")" false
  assert_eq "$(jq -r .device_limit <<<"$g")" 5
  g=$(sim_ctl PUT /control/intune '{"mdm_user_scope":"some","mdm_user_scope_groups":["Device Joiners"],"windows":"blocked","block_personally_owned":true,"corporate_identifiers":["a,b,c"],"device_limit":15,"management_url":"https://mdm.example/cimhandler.ashx"}')
  assert_eq "$(jq -c '[.mdm_user_scope,.mdm_user_scope_groups,.windows,.block_personally_owned,.corporate_identifiers,.device_limit,.management_url]' <<<"$g")" \
    '["some",["Device Joiners"],"blocked",true,["a,b,c"],15,"https://mdm.example/cimhandler.ashx"]'
  for bad in '{"mdm_user_scope":"selected"}' '{"windows":"no"}' '{"device_limit":16}' '{"device_limit":0}' \
             '{"corporate_identifiers":["a,b"]}' '{"corporate_identifiers":["a,,c"]}' '{"corporate_identifiers":["a,b,c,d"]}' \
             '{"mdm_user_scope_groups":["Nope"]}' '{"management_url":"http://x"}' '{"colour":"red"}' \
             '{"mdm_user_scope":"some","mdm_user_scope_groups":[]}'; do
    sim_ctl PUT /control/intune "$bad" >"$CASE/out" && fail "accepted $bad"
    assert_contains "$(cat "$CASE/out")" "field 'intune"
  done
  # A refused update changes nothing.
  assert_eq "$(sim_ctl GET /control/intune | jq -r .device_limit)" 15
  assert_eq "$(sim_ctl GET /control/state | jq -r .intune.windows)" blocked
}
t_control_enrollments() {
  setup
  rst; assert_eq "$HTTP_STATUS" 200
  assert_eq "$(sim_ctl GET /control/state | jq -r .enrollments)" 1
  sim_ctl GET /control/enrollments/00000000-0000-4000-8000-000000000000 >/dev/null && fail "unknown id found"
  sim_ctl DELETE /control/enrollments/00000000-0000-4000-8000-000000000000 >/dev/null && fail "unknown id deleted"
  local id; id=$(sim_ctl GET /control/enrollments | jq -r '.[0].id')
  sim_ctl GET "/control/enrollments/$id" >/dev/null || fail "by Intune id"
  sim_ctl DELETE /control/enrollments >/dev/null
  assert_eq "$(sim_ctl GET /control/enrollments | jq length)" 0
  rst; assert_eq "$HTTP_STATUS" 200
  sim_ctl POST /control/reset >/dev/null
  assert_eq "$(sim_ctl GET /control/enrollments | jq length)" 0 "reset clears enrollments"
  sim_ctl POST /control/enrollments >/dev/null && fail "POST allowed"
  return 0
}
t_tenant_file_intune() {
  jq '.intune={"mdm_user_scope":"some","mdm_user_scope_groups":["Frontline"],"windows":"allowed","block_personally_owned":true,"corporate_identifiers":["Microsoft Corporation,Windows 365 Link,LJ-SIM-0001"],"device_limit":2,"policy_service":false}' "$DEMO" >"$CASE/t.json"
  sim_start "$CASE/t.json"
  local g; g=$(sim_ctl GET /control/intune)
  assert_eq "$(jq -c '[.mdm_user_scope,.mdm_user_scope_groups,.block_personally_owned,.device_limit,.policy_service,.configured]' <<<"$g")" \
    '["some",["Frontline"],true,2,false,true]'
}
t_tenant_without_intune() {
  jq 'del(.intune)' "$DEMO" >"$CASE/t.json"
  sim_start "$CASE/t.json"
  assert_eq "$(sim_ctl GET /control/intune | jq -c '[.configured,.mdm_user_scope]')" '[false,"none"]'
  join_dev "$LJ_SCRIPT_TMP/jb1.json"; TOKB64=$(printf %s "$(mdm_token)" | base64 -w0)
  rst; assert_fault 500 s:Authorization Authorization "MDM user scope"
}
t_tenant_file_bad_intune() {
  jq '.intune={"device_limit":99}' "$DEMO" >"$CASE/t.json"
  assert_rc 3 "$ENTRASIM" --tenant "$CASE/t.json" --state-dir "$CASE/st"
  assert_contains "$OUT" "field 'intune.device_limit'"
}
t_state_dir_mdm_ca() {
  sim_start "$DEMO" "$CASE/st"
  for f in mdm-root.key mdm-root.pem mdm-ca.key mdm-ca.pem; do assert_file "$CASE/st/$f"; done
  assert_mode "$CASE/st/mdm-ca.key" 600
  openssl verify -CAfile "$CASE/st/mdm-root.pem" "$CASE/st/mdm-ca.pem" >/dev/null || fail "intermediate does not chain"
  local before; before=$(sha256sum "$CASE/st/mdm-ca.pem")
  cmp -s "$CASE/st/mdm-ca.key" "$CASE/st/drs-ca.key" && fail "MDM CA key must be its own"
  sim_stop
  sim_start "$DEMO" "$CASE/st"
  assert_eq "$(sha256sum "$CASE/st/mdm-ca.pem")" "$before" "reused"
}
t_clean_exit_after_mdm_traffic() {
  setup
  MSGID=$(uuid); disc_body >"$CASE/d.xml"; post "$DISC" "$CASE/d.xml"
  pol_body "$TOKB64" >"$CASE/p.xml"; post "$POL" "$CASE/p.xml"
  rst; assert_eq "$HTTP_STATUS" 200
  printf '<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>' >"$CASE/b.xml"; post "$ENR" "$CASE/b.xml"
  sim_ctl POST /control/faults '{"path_prefix":"/EnrollmentServer","kind":"xml_bomb"}' >/dev/null
  post "$DISC" "$CASE/d.xml"
  sim_stop; local rc=$?
  assert_eq "$rc" 0 "exit status after traffic"
  assert_not_contains "$(cat "$SIM_LOG")" "ERROR: AddressSanitizer"
  assert_not_contains "$(cat "$SIM_LOG")" "runtime error"
}

tcase mdm_get_probe t_get_probe
tcase mdm_discover_ok t_discover_ok
tcase mdm_discover_no_policy_url t_discover_no_policy_url
tcase mdm_discover_wrong_action t_discover_wrong_action
tcase mdm_discover_wrong_to t_discover_wrong_to
tcase mdm_discover_wrong_content_type t_discover_wrong_content_type
tcase mdm_discover_soap11 t_discover_soap11
tcase mdm_discover_missing_field t_discover_missing_field
tcase mdm_discover_app_version_not_quad t_discover_app_version_not_quad
tcase mdm_discover_no_federated t_discover_no_federated
tcase mdm_discover_bad_message_id t_discover_bad_message_id
tcase mdm_methods t_discover_method
tcase mdm_unknown_path_and_host t_unknown_path_and_host
tcase mdm_policy_ok t_policy_ok
tcase mdm_policy_no_token t_policy_no_token
tcase mdm_policy_bad_token t_policy_bad_token
tcase mdm_enroll_ok t_enroll_ok
tcase mdm_enroll_guid_device_id_wsse_attrs t_enroll_guid_device_id_and_wsse_attrs
tcase mdm_enroll_token_by_refresh t_enroll_token_by_refresh
tcase mdm_claims_not_in_access_token t_mdm_claims_not_in_access_token
tcase mdm_rst_device_claim_ok t_rst_device_claim_ok
tcase mdm_rst_device_claim_missing t_rst_device_claim_missing
tcase mdm_rst_device_claim_other t_rst_device_claim_other
tcase mdm_rst_refresh_token_refused t_rst_refresh_token_refused
tcase mdm_claims_in_scope t_mdm_claims_in_scope
tcase mdm_claims_out_of_scope t_mdm_claims_out_of_scope
tcase mdm_reenroll_no_quota t_reenroll_no_quota
tcase mdm_device_cap t_device_cap
tcase mdm_not_in_scope t_not_in_scope
tcase mdm_scope_some_groups t_scope_some_groups
tcase mdm_no_intune_licence t_no_intune_licence
tcase mdm_no_p1_licence t_no_p1_licence
tcase mdm_m365_licence t_m365_licence
tcase mdm_platform_blocked t_platform_blocked
tcase mdm_ownership_blocked t_ownership_blocked
tcase mdm_ownership_corporate_id t_ownership_corporate_id
tcase mdm_ownership_no_identity t_ownership_no_identity
tcase mdm_token_wrong_audience t_token_wrong_audience
tcase mdm_token_app_id_audience t_token_app_id_audience
tcase mdm_token_expired t_token_expired
tcase mdm_token_other_tenant t_token_other_tenant
tcase mdm_token_other_key t_token_other_key
tcase mdm_token_not_base64 t_token_not_base64
tcase mdm_token_raw_jwt t_token_raw_jwt
tcase mdm_token_wrong_value_type t_token_wrong_value_type
tcase mdm_user_disabled t_user_disabled
tcase mdm_csr_small_key t_csr_small_key
tcase mdm_csr_bad_signature t_csr_bad_signature
tcase mdm_csr_not_base64 t_csr_not_base64
tcase mdm_csr_not_der t_csr_not_der
tcase mdm_device_not_joined t_device_not_joined
tcase mdm_device_registered_only t_device_registered_only
tcase mdm_enrollment_type_full t_enrollment_type_full
tcase mdm_os_version_not_quad t_os_version_not_quad
tcase mdm_missing_hwdevid t_missing_hwdevid
tcase mdm_missing_device_id t_missing_device_id
tcase mdm_bad_device_id t_bad_device_id
tcase mdm_wrong_token_type t_wrong_token_type
tcase mdm_renew_unsupported t_renew_unsupported
tcase mdm_wrong_action_on_enroll t_wrong_action_on_enroll
tcase mdm_context_too_many_items t_context_too_many_items
tcase mdm_request_xml_bomb t_request_xml_bomb
tcase mdm_request_external_entity t_request_external_entity
tcase mdm_request_deep t_request_deep
tcase mdm_request_not_xml t_request_not_xml
tcase mdm_request_oversized t_request_oversized
tcase mdm_fault_503 t_fault_503
tcase mdm_fault_429 t_fault_429
tcase mdm_fault_500_discovery t_fault_500_discovery
tcase mdm_fault_delay t_fault_delay
tcase mdm_fault_drop t_fault_drop
tcase mdm_fault_close t_fault_close
tcase mdm_fault_malformed t_fault_malformed
tcase mdm_fault_oversized t_fault_oversized
tcase mdm_fault_content_type t_fault_content_type
tcase mdm_fault_html t_fault_html
tcase mdm_fault_xml_bomb t_fault_xml_bomb
tcase mdm_fault_deep t_fault_deep
tcase mdm_control_intune t_control_intune
tcase mdm_control_enrollments t_control_enrollments
tcase mdm_tenant_file_intune t_tenant_file_intune
tcase mdm_tenant_without_intune t_tenant_without_intune
tcase mdm_tenant_file_bad_intune t_tenant_file_bad_intune
tcase mdm_state_dir_mdm_ca t_state_dir_mdm_ca
tcase mdm_clean_exit_after_traffic t_clean_exit_after_mdm_traffic
