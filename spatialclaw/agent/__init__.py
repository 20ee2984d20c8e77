"""The agent: the loop (`loop`), typed step records (`steps`), the conversation derived from them
(`conversation`), the run's record (`record`) and its folder on disk (`trajectory`), reading the
model's replies (`reply_parsing`), progress events (`events`) and the console view (`progress`)."""
