"""The agent: the loop (`loop`), typed step records (`steps`), reading the model's replies
(`reply_parsing`), the run's record on disk (`trajectory`) and the console view (`progress`)."""
