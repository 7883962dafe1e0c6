// A throwaway redis-server on a free 127.0.0.1 port for unit tests against a real Redis, and a
// raw connection to look at what a store wrote (PTTL, EXPIRETIME, which keys exist).
#pragma once

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace coinpay::testing {

class RedisServer {
 public:
  static constexpr char kBinary[] = "/usr/bin/redis-server";

  struct Reply {
    int type = 0;  // REDIS_REPLY_*
    long long integer = 0;
    std::string str;
    std::vector<std::string> elements;  // string elements of an array reply
  };

  // Starts the server and waits until it answers PING; when it could not, ok() is false and
  // error() says why. A port taken between choosing and binding it costs another try.
  // `extra_args`: more redis-server options, e.g. {"--rename-command", "CLIENT", ""}.
  explicit RedisServer(std::vector<std::string> extra_args = {})
      : extra_args_(std::move(extra_args)) {
    if (access(kBinary, X_OK) != 0) {
      error_ = std::string(kBinary) +
               " is missing: install redis-server (apt-get install redis-server); the Redis "
               "session store tests need a real server and are never skipped";
      return;
    }
    for (int attempt = 0; attempt < 3 && pid_ <= 0; ++attempt) {
      Start();
    }
  }
  ~RedisServer() { Stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }

  // Runs one command on a fresh connection; nullopt when the server cannot be reached.
  std::optional<Reply> Command(const std::vector<std::string>& args) const {
    redisContext* c = Connect();
    if (c == nullptr) {
      return std::nullopt;
    }
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    std::optional<Reply> out;
    if (r != nullptr) {
      out.emplace();
      out->type = r->type;
      out->integer = r->integer;
      if (r->str != nullptr) {
        out->str.assign(r->str, r->len);
      }
      for (size_t i = 0; i < r->elements; ++i) {
        if (r->element[i]->type == REDIS_REPLY_STRING) {
          out->elements.emplace_back(r->element[i]->str, r->element[i]->len);
        }
      }
      freeReplyObject(r);
    }
    redisFree(c);
    return out;
  }

 private:
  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      return -1;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  redisContext* Connect() const {
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (c == nullptr || c->err != 0) {
      if (c != nullptr) {
        redisFree(c);
      }
      return nullptr;
    }
    redisSetTimeout(c, tv);
    return c;
  }

  bool AnswersPing() const {
    auto r = Command({"PING"});
    return r.has_value() && r->str == "PONG";
  }

  std::string LogTail() const {
    std::string out;
    if (FILE* f = std::fopen(log_path_.c_str(), "r")) {
      char buf[4096];
      size_t n = std::fread(buf, 1, sizeof(buf), f);
      out.assign(buf, n);
      std::fclose(f);
    }
    return out;
  }

  void Start() {
    port_ = FreePort();
    if (port_ <= 0) {
      error_ = "no free 127.0.0.1 port for redis-server";
      return;
    }
    char path[] = "/tmp/coinpay-redis-test-XXXXXX";
    int log_fd = mkstemp(path);
    if (log_fd < 0) {
      error_ = "cannot create a log file for redis-server";
      return;
    }
    log_path_ = path;
    // Built before fork: the child of a threaded process may only exec.
    std::vector<std::string> args = {kBinary,  "--port",       std::to_string(port_),
                                     "--bind", "127.0.0.1",    "--save",
                                     "",       "--appendonly", "no",
                                     "--dir",  "/tmp"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
      // Dies with the test process, even when the test crashes before its teardown.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) {
        _exit(126);
      }
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
      execv(kBinary, argv.data());
      _exit(127);
    }
    close(log_fd);
    if (pid < 0) {
      error_ = "fork failed";
      return;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        error_ = "redis-server on port " + std::to_string(port_) + " exited at start: " + LogTail();
        unlink(log_path_.c_str());
        return;
      }
      if (AnswersPing()) {
        pid_ = pid;
        error_.clear();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    error_ = "redis-server on port " + std::to_string(port_) +
             " did not answer within 5 s: " + LogTail();
    unlink(log_path_.c_str());
  }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      unlink(log_path_.c_str());
    }
  }

  pid_t pid_ = -1;
  int port_ = -1;
  std::string log_path_;
  std::vector<std::string> extra_args_;
  std::string error_;
};

// A test suite against one redis-server started for it and emptied (FLUSHALL) before every
// test. Never skipped: CI installs redis-server, and a missing one must be noticed.
class RedisSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new RedisServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->ok()) << server_->error();
    auto flushed = server_->Command({"FLUSHALL"});
    ASSERT_TRUE(flushed.has_value() && flushed->str == "OK");
  }

  static inline RedisServer* server_ = nullptr;
};

}  // namespace coinpay::testing
