// `SetHandler coinpay-jwks`: the public keys of the site's CoinpayPrivateKeyFile keys as a JWKS,
// for a provider that reads a private_key_jwt client's keys from its jwks_uri.
#pragma once

#include <httpd.h>

namespace coinpay::httpd {

int HandleJwks(request_rec* r);

}  // namespace coinpay::httpd
