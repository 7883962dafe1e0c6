// CurlHttpClient against a tiny HTTP server on 127.0.0.1 (a free port, in a thread), covering
// the exchanges the token client relies on and every transport failure it must report.
#include "platform/curl_http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace coinpay {
namespace {

struct ReceivedRequest {
  std::string head;  // request line and headers
  std::string body;

  bool HasHeader(const std::string& line) const {
    return head.find("\r\n" + line + "\r\n") != std::string::npos;
  }
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A listening socket on 127.0.0.1:<free port>; each connection gets a thread that answers every
// request with what `respond` returns for it (keep-alive, until a response says "Connection:
// close"); std::nullopt keeps the connection open and silent until the server stops.
class LoopbackServer {
 public:
  using Responder = std::function<std::optional<std::string>(const ReceivedRequest&)>;

  explicit LoopbackServer(Responder respond) : respond_(std::move(respond)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;  // the kernel picks a free port
    socklen_t len = sizeof(addr);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 8) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~LoopbackServer() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
    if (listen_fd_ >= 0) {
      close(listen_fd_);
    }
  }

  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  int port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<ReceivedRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // TCP connections accepted so far.
  int connections() const { return connections_; }

 private:
  // Waits for `fd` to be readable in short slices so a stop request is never missed.
  bool WaitReadable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      int n = poll(&p, 1, 20);
      if (n > 0) {
        return true;
      }
      if (n < 0 && errno != EINTR) {
        return false;
      }
    }
    return false;
  }

  std::optional<ReceivedRequest> ReadRequest(int fd) {
    std::string data;
    char buf[4096];
    size_t head_end = std::string::npos;
    size_t want = 0;
    while (true) {
      if (head_end == std::string::npos) {
        head_end = data.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          std::string head = Lower(data.substr(0, head_end));
          size_t cl = head.find("\r\ncontent-length:");
          want = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 17));
        }
      }
      if (head_end != std::string::npos && data.size() >= head_end + 4 + want) {
        return ReceivedRequest{data.substr(0, head_end + 2), data.substr(head_end + 4, want)};
      }
      if (!WaitReadable(fd)) {
        return std::nullopt;
      }
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) {
        return std::nullopt;
      }
      data.append(buf, static_cast<size_t>(n));
    }
  }

  void Serve() {
    while (WaitReadable(listen_fd_)) {
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        continue;
      }
      ++connections_;
      std::lock_guard<std::mutex> lock(mu_);
      connection_threads_.emplace_back([this, fd] { ServeConnection(fd); });
    }
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(connection_threads_);
    }
    for (auto& t : threads) {
      t.join();
    }
  }

  // Answers requests on one connection until the client closes it, a response says
  // "Connection: close", or the server stops.
  void ServeConnection(int fd) {
    while (true) {
      std::optional<ReceivedRequest> req = ReadRequest(fd);
      if (!req) {
        break;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(*req);
      }
      std::optional<std::string> response = respond_(*req);
      if (!response) {
        // Hold the connection open and silent until the client gives up or we stop.
        char sink[256];
        while (WaitReadable(fd) && recv(fd, sink, sizeof(sink), 0) > 0) {
        }
        break;
      }
      const std::string& text = *response;
      size_t sent = 0;
      while (sent < text.size()) {
        ssize_t n = send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
          break;
        }
        sent += static_cast<size_t>(n);
      }
      if (sent < text.size() ||
          Lower(text).find("\r\nconnection: close\r\n") != std::string::npos) {
        break;
      }
    }
    close(fd);
  }

  Responder respond_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<std::thread> connection_threads_;
  std::vector<ReceivedRequest> requests_;
};

std::string HttpResponseText(int status, const std::string& reason, const std::string& content_type,
                             const std::string& body, const std::string& extra_headers = "",
                             bool keep_alive = false) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         (keep_alive ? "" : "Connection: close\r\n") + extra_headers + "\r\n" + body;
}

class CurlHttpClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(CurlHttpClient::GlobalInit().ok()); }
};

TEST_F(CurlHttpClientTest, GetReturnsStatusContentTypeAndBody) {
  LoopbackServer server([](const ReceivedRequest&) {
    return HttpResponseText(200, "OK", "application/json; charset=utf-8", R"({"keys":[]})");
  });
  ASSERT_GT(server.port(), 0);
  CurlHttpClient client;
  HttpRequest req;
  req.url = server.Url("/jwks?x=1");
  auto resp = client.Send(req);
  ASSERT_TRUE(resp.ok()) << resp.error().detail;
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->content_type, "application/json; charset=utf-8");
  EXPECT_EQ(resp->body, R"({"keys":[]})");
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].head.rfind("GET /jwks?x=1 HTTP/1.1\r\n", 0), 0u) << seen[0].head;
  EXPECT_TRUE(seen[0].HasHeader("User-Agent: mod_coinpay_auth/0.1")) << seen[0].head;
}

TEST_F(CurlHttpClientTest, PostDeliversBodyAndHeadersAndAnErrorStatusIsAnAnswer) {
  LoopbackServer server([](const ReceivedRequest&) {
    return HttpResponseText(400, "Bad Request", "application/json", R"({"error":"invalid_grant"})");
  });
  CurlHttpClient client;
  HttpRequest req;
  req.method = "POST";
  req.url = server.Url("/token");
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Authorization", "Basic Y2xpZW50OnNlY3JldA=="}};
  req.body = "grant_type=authorization_code&code=abc&code_verifier=xyz";
  auto resp = client.Send(req);
  ASSERT_TRUE(resp.ok()) << resp.error().detail;
  EXPECT_EQ(resp->status, 400);
  EXPECT_EQ(resp->body, R"({"error":"invalid_grant"})");
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].head.rfind("POST /token HTTP/1.1\r\n", 0), 0u) << seen[0].head;
  EXPECT_TRUE(seen[0].HasHeader("Content-Type: application/x-www-form-urlencoded"));
  EXPECT_TRUE(seen[0].HasHeader("Authorization: Basic Y2xpZW50OnNlY3JldA=="));
  EXPECT_EQ(seen[0].body, req.body);
}

TEST_F(CurlHttpClientTest, OtherMethodsAreSentAsGiven) {
  LoopbackServer server(
      [](const ReceivedRequest&) { return HttpResponseText(204, "No Content", "text/plain", ""); });
  CurlHttpClient client;
  HttpRequest req;
  req.method = "DELETE";
  req.url = server.Url("/session");
  auto resp = client.Send(req);
  ASSERT_TRUE(resp.ok()) << resp.error().detail;
  EXPECT_EQ(resp->status, 204);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].head.rfind("DELETE /session HTTP/1.1\r\n", 0), 0u) << seen[0].head;
}

TEST_F(CurlHttpClientTest, RedirectIsReturnedNotFollowed) {
  LoopbackServer server([](const ReceivedRequest&) {
    return HttpResponseText(302, "Found", "text/plain", "", "Location: /elsewhere\r\n");
  });
  CurlHttpClient client;
  HttpRequest req;
  req.url = server.Url("/userinfo");
  auto resp = client.Send(req);
  ASSERT_TRUE(resp.ok()) << resp.error().detail;
  EXPECT_EQ(resp->status, 302);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(CurlHttpClientTest, ConnectionRefusedIsHttpFailure) {
  // Bound but not listening: the port stays ours and every connect is refused.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  CurlHttpClient client;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/token?code=s3cr3t";
  auto resp = client.Send(req);
  close(fd);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.code(), Errc::kHttpFailure);
  EXPECT_NE(resp.error().detail.find("/token"), std::string::npos) << resp.error().detail;
  EXPECT_EQ(resp.error().detail.find("s3cr3t"), std::string::npos) << resp.error().detail;
}

TEST_F(CurlHttpClientTest, TimeoutIsHttpFailureAndTheDetailHoldsNoSecret) {
  LoopbackServer server([](const ReceivedRequest&) { return std::nullopt; });
  CurlHttpClient client;
  HttpRequest req;
  req.method = "POST";
  req.url = server.Url("/token");
  req.headers = {{"Authorization", "Bearer header-secret-123"}};
  req.body = "client_secret=body-secret-456";
  req.timeout_ms = 300;
  auto resp = client.Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.code(), Errc::kHttpFailure);
  EXPECT_EQ(resp.error().detail.find("header-secret-123"), std::string::npos);
  EXPECT_EQ(resp.error().detail.find("body-secret-456"), std::string::npos);
  EXPECT_EQ(server.requests().size(), 1u);  // it did reach the server, which never answered
}

TEST_F(CurlHttpClientTest, BodyAboveTheLimitIsHttpFailureWhenContentLengthAnnouncesIt) {
  LoopbackServer server([](const ReceivedRequest&) {
    return HttpResponseText(200, "OK", "application/json", std::string(4096, 'x'));
  });
  CurlHttpClient::Options options;
  options.max_body_bytes = 1024;
  CurlHttpClient client(options);
  HttpRequest req;
  req.url = server.Url("/big");
  auto resp = client.Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.code(), Errc::kHttpFailure);
  EXPECT_NE(resp.error().detail.find("1024"), std::string::npos) << resp.error().detail;
}

TEST_F(CurlHttpClientTest, BodyAboveTheLimitIsHttpFailureWithoutContentLength) {
  LoopbackServer server([](const ReceivedRequest&) -> std::optional<std::string> {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" +
           std::string(size_t{64} * 1024, 'y');
  });
  CurlHttpClient::Options options;
  options.max_body_bytes = 1024;
  CurlHttpClient client(options);
  HttpRequest req;
  req.url = server.Url("/stream");
  auto resp = client.Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.code(), Errc::kHttpFailure);
}

TEST_F(CurlHttpClientTest, BodyExactlyAtTheLimitIsAccepted) {
  LoopbackServer server([](const ReceivedRequest&) {
    return HttpResponseText(200, "OK", "text/plain", std::string(1024, 'z'));
  });
  CurlHttpClient::Options options;
  options.max_body_bytes = 1024;
  CurlHttpClient client(options);
  HttpRequest req;
  req.url = server.Url("/exact");
  auto resp = client.Send(req);
  ASSERT_TRUE(resp.ok()) << resp.error().detail;
  EXPECT_EQ(resp->body.size(), 1024u);
}

TEST_F(CurlHttpClientTest, SchemesOtherThanHttpAndHttpsAreRefused) {
  CurlHttpClient client;
  for (const char* url : {"file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1/"}) {
    HttpRequest req;
    req.url = url;
    auto resp = client.Send(req);
    ASSERT_FALSE(resp.ok()) << url;
    EXPECT_EQ(resp.code(), Errc::kHttpFailure) << url;
  }
}

TEST_F(CurlHttpClientTest, HeaderWithLineBreakIsRefusedWithoutEchoingItsValue) {
  CurlHttpClient client;
  HttpRequest req;
  req.url = "http://127.0.0.1:1/";
  req.headers = {{"Authorization", "Bearer tok\r\nX-Injected: 1"}};
  auto resp = client.Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.code(), Errc::kHttpFailure);
  EXPECT_EQ(resp.error().detail.find("tok"), std::string::npos) << resp.error().detail;
}

TEST_F(CurlHttpClientTest, UserinfoInTheUrlStaysOutOfTheErrorDetail) {
  CurlHttpClient client;
  HttpRequest req;
  req.url = "http://user:pa55word@127.0.0.1:1/path#frag";
  auto resp = client.Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.error().detail.find("pa55word"), std::string::npos) << resp.error().detail;
  EXPECT_NE(resp.error().detail.find("127.0.0.1:1/path"), std::string::npos) << resp.error().detail;
}

TEST_F(CurlHttpClientTest, SequentialRequestsReuseOneKeptAliveConnection) {
  LoopbackServer server([](const ReceivedRequest&) {
    return HttpResponseText(200, "OK", "application/json", R"({"active":false})", "", true);
  });
  CurlHttpClient client;
  for (const char* method : {"POST", "POST", "GET"}) {
    HttpRequest req;
    req.method = method;
    req.url = server.Url("/introspect");
    req.body = std::string(method) == "POST" ? "token=abc" : "";
    auto resp = client.Send(req);
    ASSERT_TRUE(resp.ok()) << resp.error().detail;
    EXPECT_EQ(resp->status, 200);
  }
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(CurlHttpClientTest, ConnectionsAreSharedByThreads) {
  LoopbackServer server([](const ReceivedRequest&) {
    return HttpResponseText(200, "OK", "text/plain", "ok", "", true);
  });
  CurlHttpClient client;
  constexpr int kThreads = 8;
  constexpr int kEach = 10;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < kEach; ++j) {
        HttpRequest req;
        req.url = server.Url("/jwks");
        auto resp = client.Send(req);
        ok += resp.ok() && resp->body == "ok" ? 1 : 0;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), kThreads * kEach);
  // At most one connection per transfer running at once, never one per request.
  EXPECT_LE(server.connections(), kThreads);
}

TEST_F(CurlHttpClientTest, AForkedChildNeverUsesItsParentsConnections) {
  LoopbackServer server([](const ReceivedRequest&) {
    return HttpResponseText(200, "OK", "text/plain", "ok", "", true);
  });
  CurlHttpClient client;  // made before fork, as httpd makes it in post_config
  HttpRequest req;
  req.url = server.Url("/metadata");
  ASSERT_TRUE(client.Send(req).ok());
  ASSERT_EQ(server.connections(), 1);

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto resp = client.Send(req);
    _exit(resp.ok() && resp->body == "ok" ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The child connected on its own; the parent's kept connection is still the parent's.
  EXPECT_EQ(server.connections(), 2);
  auto again = client.Send(req);
  ASSERT_TRUE(again.ok()) << again.error().detail;
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(CurlHttpClientTest, CacheControlIsCapturedTheLastOneWins) {
  LoopbackServer server([](const ReceivedRequest& r) {
    if (r.head.rfind("GET /none ", 0) == 0) {
      return HttpResponseText(200, "OK", "application/json", "{}");
    }
    return HttpResponseText(200, "OK", "application/json", "{}",
                            "Cache-Control: no-cache\r\ncache-control:  public, max-age=300 \r\n");
  });
  CurlHttpClient client;
  HttpRequest req;
  req.url = server.Url("/jwks");
  auto resp = client.Send(req);
  ASSERT_TRUE(resp.ok()) << resp.error().detail;
  EXPECT_EQ(resp->cache_control, "public, max-age=300");
  req.url = server.Url("/none");
  auto none = client.Send(req);
  ASSERT_TRUE(none.ok()) << none.error().detail;
  EXPECT_EQ(none->cache_control, "");
}

}  // namespace
}  // namespace coinpay
