#include "httpd/request_record.h"

#include <http_config.h>

#include "httpd/module.h"

namespace coinpay::httpd {

RequestRecord* FindRequestRecord(request_rec* r) {
  return static_cast<RequestRecord*>(ap_get_module_config(r->request_config, &coinpay_auth_module));
}

RequestRecord& RequestRecordOf(request_rec* r) {
  RequestRecord* rec = FindRequestRecord(r);
  if (rec == nullptr) {
    rec = PoolNew<RequestRecord>(r->pool);
    ap_set_module_config(r->request_config, &coinpay_auth_module, rec);
  }
  return *rec;
}

SessionReadHint& ConnectionSessionHint(conn_rec* c) {
  auto* hint =
      static_cast<SessionReadHint*>(ap_get_module_config(c->conn_config, &coinpay_auth_module));
  if (hint == nullptr) {
    hint = PoolNew<SessionReadHint>(c->pool);
    ap_set_module_config(c->conn_config, &coinpay_auth_module, hint);
  }
  return *hint;
}

}  // namespace coinpay::httpd
