// A private key file: one small regular file, read whole once at startup (as root, before httpd
// drops privileges, so the file can stay readable by root alone).
#include "platform/private_key_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace coinpay {
namespace {
constexpr size_t kMaxKeyFileBytes = size_t{64} * 1024;
}  // namespace

Result<std::string> ReadPrivateKeyFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return Error{Errc::kConfig, "cannot read " + path + " (" + std::strerror(errno) +
                                    "): name a PEM private key file readable when httpd starts "
                                    "(a relative name is under ServerRoot)"};
  }
  if (!S_ISREG(st.st_mode)) {
    return Error{Errc::kConfig, path + " is not a regular file: name a PEM private key file"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{Errc::kConfig, "cannot read " + path + " (" + std::strerror(errno) +
                                    "): make it readable by the user that starts httpd"};
  }
  std::string text(kMaxKeyFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return Error{Errc::kConfig, "cannot read " + path + " (read error)"};
  }
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxKeyFileBytes) {
    return Error{Errc::kConfig, path + " is larger than 64 KiB: it is not a PEM private key"};
  }
  return text;
}

}  // namespace coinpay
