//! A small blocking HTTP client over reqwest for the tests that drive the daemon from
//! plain threads: one request, its status, headers and body, redirects not followed.

/// One answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// A header's value, its name matched without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn get(url: &str) -> Reply {
    request("GET", url, &[], None)
}

/// `method` on `url` with `headers`; a `body` is sent as a form
/// (`application/x-www-form-urlencoded`).
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<String>) -> Reply {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut req = client.request(method.parse().unwrap(), url);
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        Reply {
            status,
            headers,
            body: res.text().await.unwrap(),
        }
    })
}
